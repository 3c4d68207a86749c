#!/usr/bin/env node
// Entry point of the `iotcloud` command. The project is TypeScript run through tsx, so there is
// no build step between editing a file and running it.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
// `iotcloud fleet` runs itself again under jemalloc when the system has it (see cli/allocator.ts).
const { rerunUnderJemallocIfUseful } = await import('../cli/allocator.ts');
const exitCode = await rerunUnderJemallocIfUseful();
if (exitCode === undefined) await import('../cli/main.ts');
else process.exit(exitCode);
