/**
 * `iotcloud` runs its compiled build (dist/cli/, `npm run build:cli`) while no source it was made
 * from changed since, and the TypeScript sources through tsx as soon as one did: an edited file
 * never runs as its old build. Checked on a copy of the project, where the test may edit files:
 * the build is marked (its usage line changed) so the output shows which code ran.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { spawnUp } from '../../testkit/up-process.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
/** What the command needs of the project: its modules, bin/, the build script, package.json. */
const copied = ['bin', 'scripts', 'package.json', 'cli', 'certs', 'device-link', 'rest-client', 'server', 'broker', 'simulators', 'ft900', 'harness', 'firmware-protocol'];
const usageLine = 'Build and test MCU devices (FT900 first) against a self-hosted IoT cloud.';

describe('the compiled build of the iotcloud command', () => {
  let project: string;
  const bin = () => join(project, 'bin', 'iotcloud.js');
  const iotcloud = async (args: string[], env: NodeJS.ProcessEnv = {}) => (await run(process.execPath, [bin(), ...args], { cwd: project, env: { ...process.env, ...env } })).stdout;
  const build = () => run(process.execPath, [join(project, 'scripts', 'build-cli.js')], { cwd: project });
  const replaceIn = async (path: string, from: string, to: string) => {
    const text = await readFile(path, 'utf8');
    expect(text).toContain(from);
    await writeFile(path, text.replace(from, to));
  };

  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'iotcloud-cli-build-'));
    for (const name of copied) await cp(join(root, name), join(project, name), { recursive: true, filter: (source) => !source.includes('/ft900/firmware/build') });
    await symlink(join(root, 'node_modules'), join(project, 'node_modules'));
    await build();
    // Mark the build: its usage line says where it comes from.
    await replaceIn(join(project, 'dist', 'cli', 'main.js'), usageLine, 'usage line of the BUILD');
  }, 120_000);
  afterAll(async () => {
    await rm(project, { recursive: true, force: true });
  });

  it('runs the build while it is fresh', async () => {
    expect(await iotcloud(['--help'])).toContain('usage line of the BUILD');
  }, 60_000);

  it('finds the files beside the bundled code from the build: yargs its translations', async () => {
    const german = await iotcloud(['--help'], { LANG: 'de_DE.UTF-8', LC_ALL: '' });
    expect(german).toContain('usage line of the BUILD');
    expect(german).toContain('Optionen:');
  }, 60_000);

  it('loads no server, broker, transport, CA or serial code for --version, --help or a client command', async () => {
    // What main.js imports, and what those import, statically: a command's handler loads the rest with import().
    const packages = new Set<string>();
    const seen = new Set<string>();
    const visit = async (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = await readFile(join(project, 'dist', 'cli', file), 'utf8');
      for (const [, from, bare] of code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"/gm)) {
        const specifier = (from ?? bare)!;
        if (specifier.startsWith('./')) await visit(specifier.slice(2));
        else packages.add(specifier);
      }
    };
    await visit('main.js');
    expect(seen.size).toBeGreaterThan(1);
    const heavy = ['fastify', 'aedes', 'mqtt', 'amqplib', 'rhea', '@peculiar/x509', 'pino', '@electric-sql/pglite', 'pg', '@serialport/stream', '@serialport/bindings-cpp', 'prom-client', 'hdr-histogram-js', 'node:http', 'node:https'];
    expect([...packages].filter((name) => heavy.includes(name))).toEqual([]);
    // TypeBox is bundled in, so it shows in the chunks' source lists, not as a package: the
    // protocol's schemas load only with the commands that use them (command names come without).
    for (const file of seen) {
      const map = await readFile(join(project, 'dist', 'cli', `${file}.map`), 'utf8').catch(() => ''); // the bundler's own runtime has none
      expect(map, file).not.toContain('@sinclair/typebox');
    }
  }, 60_000);

  it('runs the sources through tsx with IOTCLOUD_CLI_BUILD=off', async () => {
    expect(await iotcloud(['--help'], { IOTCLOUD_CLI_BUILD: 'off' })).toContain(usageLine);
  }, 60_000);

  it('`iotcloud up` runs from the build (its second run for jemalloc too) and serves the web console from console/dist', async () => {
    await mkdir(join(project, 'console', 'dist'), { recursive: true });
    await writeFile(join(project, 'console', 'dist', 'index.html'), '<!doctype html><title>console of the copy</title>');
    const up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', join(project, 'var', 'server')], { bin: bin() });
    try {
      expect(up.output()).toMatch(/console {4}https:\/\/\S+\/ {3}\(web console/);
      const page = await httpsGet(`${up.apiUrl}/`, up.rootCaPem);
      expect(page).toContain('console of the copy');
    } finally {
      await up.stop();
    }
  }, 120_000);

  it('falls back to the sources as soon as one changed since the build, and runs the build again once rebuilt', async () => {
    await replaceIn(join(project, 'cli', 'main.ts'), usageLine, 'usage line of the EDITED source');
    expect(await iotcloud(['--help'])).toContain('usage line of the EDITED source');

    await build();
    await replaceIn(join(project, 'dist', 'cli', 'main.js'), 'usage line of the EDITED source', 'usage line of the NEW BUILD');
    expect(await iotcloud(['--help'])).toContain('usage line of the NEW BUILD');
  }, 120_000);

  it('falls back to the sources when the build has no list of its sources (being built, or failed)', async () => {
    await build();
    await rm(join(project, 'dist', 'cli', 'sources.json'));
    await replaceIn(join(project, 'dist', 'cli', 'main.js'), 'usage line of the EDITED source', 'usage line of a build without its list');
    expect(await iotcloud(['--help'])).toContain('usage line of the EDITED source');
  }, 120_000);
});

/** GET over HTTPS trusting the server's own CA. */
async function httpsGet(url: string, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca: caPem }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
}
