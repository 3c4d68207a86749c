#!/usr/bin/env node
// Entry point of the `iotcloud` command. The project is TypeScript run through tsx, so there is
// no build step between editing a file and running it.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
// `iotcloud up` and `iotcloud fleet` run themselves again in a runtime set up for thousands of
// connections (see cli/process/runtime.ts).
const { followFirstRun, rerunInCommandRuntime } = await import('../cli/process/runtime.ts');
const exitCode = await rerunInCommandRuntime();
if (exitCode === undefined) {
  followFirstRun();
  await import('../cli/main.ts');
} else process.exit(exitCode);
