/**
 * The README's user journey, run as written: the shell block under "The user journey" is read
 * from README.md and every line runs in bash, with `iotcloud` on the PATH as `npm link` puts it.
 * Only what must differ per machine is replaced: the example ports by free ones, `~/lab` by a
 * temp folder, the example LAN address by this machine's own. So the README cannot drift from
 * what works, off the default ports and data folders, with the server reached on the LAN.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../testkit/rabbitmq-platform.ts';
import { lanAddress } from '../../testkit/lan-address.ts';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';

const README = new URL('../../README.md', import.meta.url);
/** What a background line prints once it is ready for the next line. */
const readyWhen: Record<string, RegExp> = { up: /Press Ctrl\+C to stop/, sim: /simulated device running/ };

interface Ran {
  line: string;
  code: number | null;
  output: string;
}

/** The first ```sh block after the journey heading, as lines without comments or blanks. */
function journeyLines(markdown: string): string[] {
  const section = markdown.slice(markdown.indexOf('## The user journey'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```sh block under "## The user journey"');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe("the README's user journey", () => {
  const background: ChildProcess[] = [];
  let lab: string | undefined;

  afterAll(async () => {
    // Last started first: the device before the server.
    for (const child of background.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    if (lab) await rm(lab, { recursive: true, force: true });
  }, 60_000);

  it('runs as written on its own ports and folders, the server reached on its LAN address', async () => {
    const markdown = await readFile(README, 'utf8');
    lab = await mkdtemp(join(tmpdir(), 'iotcloud-journey-'));
    const bin = join(lab, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'iotcloud'), `#!/bin/sh\nexec "${process.execPath}" "${IOTCLOUD_BIN}" "$@"\n`);
    await chmod(join(bin, 'iotcloud'), 0o755);

    const [apiPort, mqttPort] = await freePorts(2);
    const lan = lanAddress();
    const lines = journeyLines(markdown).map((line) =>
      line
        .replaceAll('~/lab', join(lab!, 'lab'))
        .replaceAll('20443', String(apiPort))
        .replaceAll('20883', String(mqttPort))
        .replaceAll('192.168.1.20', lan),
    );
    expect(lines.length).toBeGreaterThanOrEqual(8);

    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, IOTCLOUD_PASSWORD: 'journey password 1' };
    for (const name of ['IOTCLOUD_HOME', 'IOTCLOUD_SERVER', 'IOTCLOUD_CA', 'IOTCLOUD_TOKEN', 'IOTCLOUD_MQTT_URL']) delete env[name];

    const ran: Ran[] = [];
    for (const line of lines) {
      const exported = /^export (\w+)=(\S+)$/.exec(line);
      if (exported) {
        env[exported[1]!] = exported[2]!;
        continue;
      }
      const inBackground = line.endsWith('&');
      const command = inBackground ? line.slice(0, -1).trim() : line;
      const child = spawn('bash', ['-c', command], { env, cwd: lab, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      if (inBackground) {
        background.push(child);
        const subcommand = /^iotcloud (\w+)/.exec(command)?.[1] ?? '';
        const ready = readyWhen[subcommand];
        if (!ready) throw new Error(`the journey runs \`${command}\` in the background; say how to know it is ready (readyWhen)`);
        await new Promise<void>((resolve, reject) => {
          const check = () => ready.test(output) && resolve();
          child.stdout!.on('data', check);
          child.stderr!.on('data', check);
          child.once('close', (code) => reject(new Error(`\`${line}\` exited with ${code} before it was ready:\n${output}`)));
        });
        ran.push({ line, code: null, output });
      } else {
        const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
        ran.push({ line, code, output });
        expect(code, `\`${line}\` failed:\n${output}`).toBe(0);
      }
    }

    const said = (subcommand: string) => ran.find((step) => new RegExp(`^iotcloud ${subcommand}\\b`).test(step.line))?.output ?? '';
    // The board is handed the URL it can reach, named by the server certificate.
    expect(said('register')).toContain(`mqtts://${lan}:${mqttPort}`);
    expect(said('devices')).toMatch(/^lab board\s+ft900lab1\s+online\b/m);
    expect(said('cmd')).toMatch(/^set_gpio -> \{"number":18,"value":1\}/m);
    expect(said('harness')).toMatch(/^exit 0: every required case passed: \d+ passed, \d+ not applicable of \d+ cases$/m);
    expect(existsSync(join(lab, 'lab', 'reports', 'harness-report.html'))).toBe(true);
    expect(said('unregister')).toContain('unregistered ft900lab1');
    expect(existsSync(join(lab, 'lab', 'board', 'ft900lab1_pkey.pem'))).toBe(true);
    expect(existsSync(join(lab, 'lab', 'cli', 'session.json'))).toBe(true);
  }, 300_000);
});
