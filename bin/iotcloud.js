#!/usr/bin/env node
// Entry point of the `iotcloud` command. It runs the compiled build in dist/cli/ (`npm run
// build:cli`, done by `npm install`) while no source changed since it was made, else the
// TypeScript sources through tsx: editing a file never needs a build step, and never runs old code.
import process from 'node:process';
import { URL } from 'node:url';
import { buildDir, checkBuild, entryPoints } from './cli-build.js';

let load;
if (checkBuild().fresh) {
  load = (name) => import(new URL(`${name}.js`, buildDir).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  load = (name) => import(new URL(`../${entryPoints[name]}`, import.meta.url).href);
}
// `iotcloud up` and `iotcloud fleet` run themselves again in a runtime set up for thousands of
// connections (see cli/process/runtime.ts).
const { followFirstRun, rerunInCommandRuntime } = await load('runtime');
const exitCode = await rerunInCommandRuntime();
if (exitCode === undefined) {
  followFirstRun();
  await load('main');
} else process.exit(exitCode);
