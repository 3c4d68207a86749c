/**
 * `npm run build:cli`: bundles the `iotcloud` command (cli/main.ts and everything it imports of
 * ours) into dist/cli/ with Rolldown (Vite's bundler). bin/iotcloud.js
 * runs it while it is fresh (bin/cli-build.js): tsx transpiling ~170 files at every start took
 * 1.5 s. A module a command loads with `await import()` goes to its own chunk, so `iotcloud
 * --version` or `iotcloud cmd` load neither the server nor the device transports. (esbuild
 * splits by files reached, through index.ts re-exports too, so it put the transports and the
 * x509 library in the chunk every command loads: 1.4 s for `--version`.)
 */
import { rm, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { build } from 'rolldown';
import { buildDir, entryPoints, manifestName, projectRoot } from '../bin/cli-build.js';

const root = fileURLToPath(projectRoot);
const outdir = fileURLToPath(buildDir);
const ownModule = (id) => id.startsWith(root) && !id.includes('/node_modules/');

/**
 * The packages every command loads are bundled too, with their dependencies: Node resolving and
 * loading yargs' and TypeBox's ~100 files took 280 ms of CPU, bundled 80. Every other package is
 * left to Node (native addons, worker files, CommonJS that finds files beside itself).
 */
const bundledPackages = ['yargs', '@sinclair/typebox'];
const packageOf = (id) => id.split('/').slice(0, id.startsWith('@') ? 2 : 1).join('/');
const external = (id, importer) => {
  if (id.startsWith('node:')) return true;
  if (id.startsWith('.') || id.startsWith('/')) return false;
  return !bundledPackages.includes(packageOf(id)) && !importer?.includes('/node_modules/');
};

/**
 * `import.meta.url` stays the source file's URL: console/dist, the RabbitMQ config template and
 * the protocol spec are found beside the sources, yargs finds package.json (the version) and its
 * locales. Every output file is in dist/cli/ itself, so the path from there to the source is known here.
 */
const sourceUrls = {
  name: 'source-urls',
  transform(code, id) {
    if (!code.includes('import.meta.url')) return null;
    const fromBuild = relative(outdir, id).split('\\').join('/');
    return { code: code.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBuild)}, import.meta.url).href`), map: null };
  },
};

/** What the build depends on, for bin/cli-build.js: our files, and a bundled package's package.json (npm rewrites it on an update). */
function sourceToWatch(path) {
  const inPackage = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  return inPackage ? `node_modules/${inPackage[1]}/package.json` : path;
}

const builtAt = Date.now(); // before reading any source: a file edited during the build makes it stale
await rm(outdir, { recursive: true, force: true });
const sources = new Set();
await build({
  cwd: root,
  input: entryPoints,
  platform: 'node',
  external,
  resolve: { symlinks: false }, // node_modules may be a link (a git worktree's): keep the paths under the project
  // None of our modules acts when imported, so a chunk keeps only the modules whose code it uses.
  // The entry points do act (cli/main.ts parses the command line).
  treeshake: { moduleSideEffects: (id, external) => external || !ownModule(id) || Object.values(entryPoints).some((entry) => id.endsWith(`/${entry}`)) },
  // Rolldown would move modules main.js needs into the chunk of a lazily loaded command (e.g. the
  // bridge's default baud rate into the bridge): main.js would load all of that chunk's packages.
  experimental: { chunkOptimization: false },
  plugins: [sourceUrls, { name: 'sources', load: (id) => void sources.add(sourceToWatch(relative(root, id))) }],
  output: { dir: outdir, format: 'esm', sourcemap: true }, // maps for NODE_OPTIONS=--enable-source-maps; Node reads them only then
  logLevel: 'warn',
});
await writeFile(new URL(manifestName, buildDir), `${JSON.stringify({ builtAt, sources: [...sources].sort() }, null, 1)}\n`);
process.stdout.write(`build:cli: ${sources.size} sources -> ${relative(root, outdir)}/ in ${Date.now() - builtAt} ms\n`);
