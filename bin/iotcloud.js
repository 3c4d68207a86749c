#!/usr/bin/env node
// Entry point of the `iotcloud` command. The project is TypeScript run through tsx, so there is
// no build step between editing a file and running it.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
// `iotcloud fleet` runs itself again in a runtime set up for thousands of connections (see cli/fleet-runtime.ts).
const { rerunInFleetRuntime } = await import('../cli/fleet-runtime.ts');
const exitCode = await rerunInFleetRuntime();
if (exitCode === undefined) await import('../cli/main.ts');
else process.exit(exitCode);
