/**
 * The CLI's compiled build: `npm run build:cli` (run by `npm install`) bundles cli/ into dist/cli/
 * and lists the source files it was made from, with the time it started. bin/iotcloud.js runs the
 * build only while none of those files changed since, so an edited file is never run stale: a
 * stale build falls back to the sources through tsx, as slow as before but current. The check is
 * one stat per source (about 170, and the package.json of yargs and TypeBox, bundled too): a
 * millisecond or two.
 */
import { readFileSync, statSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

export const projectRoot = new URL('../', import.meta.url);
export const buildDir = new URL('dist/cli/', projectRoot);
/** Written last by the build: without it (no build, a build in progress or failed) there is none. */
export const manifestName = 'sources.json';
/** The entry points, as `<name>.js` in the build folder. */
export const entryPoints = { main: 'cli/main.ts', runtime: 'cli/process/runtime.ts' };

/**
 * Whether the build in `dir` may run: `{ fresh: true }`, or `{ fresh: false, reason }`. The
 * environment variable IOTCLOUD_CLI_BUILD=off always runs the sources (e.g. for exact stack traces).
 */
export function checkBuild(dir = buildDir, env = process.env) {
  if (env.IOTCLOUD_CLI_BUILD === 'off') return { fresh: false, reason: 'IOTCLOUD_CLI_BUILD=off' };
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL(manifestName, dir), 'utf8'));
  } catch {
    return { fresh: false, reason: 'no build: run `npm run build:cli`' };
  }
  const root = fileURLToPath(projectRoot);
  for (const source of manifest.sources) {
    const stat = statSync(root + source, { throwIfNoEntry: false });
    if (!stat) return { fresh: false, reason: `${source} is gone since the build` };
    if (stat.mtimeMs > manifest.builtAt) return { fresh: false, reason: `${source} changed since the build` };
  }
  return { fresh: true };
}
