/**
 * `iotcloud sim` as a user runs it, against `iotcloud up` (both real child processes, own ports,
 * own IOTCLOUD_HOME): a device the broker refuses (never registered, or unregistered while it
 * runs) stops at once with one line saying what to do and exit status 3; a broker that is away
 * is retried, one line per attempt without a stack trace; log lines are JSON when piped, human
 * (`--log-format pretty`, or a terminal) otherwise, never with a key twice; `--log-level` filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';
import { freePorts } from '../../testkit/rabbitmq-platform.ts';

const run = promisify(execFile);
const REFUSED = 3;

interface Sim {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once the output (stdout and stderr) matches. */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

describe('iotcloud sim: refusals, retries and log lines', () => {
  let dir: string;
  let up: UpProcess;
  let env: NodeJS.ProcessEnv;
  const started: ChildProcess[] = [];

  const iotcloud = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [IOTCLOUD_BIN, ...args], { env, cwd: dir });
    return stdout;
  };
  const register = (deviceId: string) => iotcloud('register', deviceId, '--device-id', deviceId, '--out', 'certs');

  /** `iotcloud sim` with its output piped (or, with `tty`, inside a pty made by `script`). */
  const sim = (args: string[], options: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}): Sim => {
    const argv = [IOTCLOUD_BIN, 'sim', '--dir', 'certs', ...args];
    const child = options.tty
      ? spawn('script', ['-qec', [process.execPath, ...argv].join(' '), '/dev/null'], { env: options.env ?? env, cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, argv, { env: options.env ?? env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let out = '';
    let err = '';
    const waiters: { pattern: RegExp; resolve: () => void }[] = [];
    const check = () => {
      for (const waiter of [...waiters]) {
        if (!waiter.pattern.test(out + err)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    };
    child.stdout!.on('data', (chunk: Buffer) => ((out += chunk.toString()), check()));
    child.stderr!.on('data', (chunk: Buffer) => ((err += chunk.toString()), check()));
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    return {
      child,
      stdout: () => out,
      stderr: () => err,
      exited,
      waitFor: (pattern) =>
        new Promise<void>((resolve, reject) => {
          waiters.push({ pattern, resolve });
          check();
          void exited.then((code) => reject(new Error(`iotcloud sim exited with ${code} before ${pattern}:\n${out}\n${err}`)));
        }),
    };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-sim-logs-'));
    // The server of every test here also shows that `up` takes the same log flags.
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'server'), '--log-level', 'info', '--log-format', 'pretty']);
    env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home') };
    for (const name of ['IOTCLOUD_SERVER', 'IOTCLOUD_CA', 'IOTCLOUD_TOKEN', 'IOTCLOUD_MQTT_URL', 'IOTCLOUD_PASSWORD', 'NO_COLOR']) delete env[name];
    const where = ['--server', up.apiUrl, '--ca', up.caCertPath];
    await iotcloud('signup', 'grace', '--password', 'correct horse battery', ...where);
    await iotcloud('login', 'grace', '--password', 'correct horse battery', ...where);
  }, 180_000);
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a device that is not registered: one line naming `iotcloud register`, exit 3, no retries', async () => {
    await register('gone1');
    await iotcloud('unregister', 'gone1');
    const device = sim(['--device', 'gone1']);
    expect(await device.exited).toBe(REFUSED);
    expect(device.stderr().trim().split('\n')).toEqual([
      expect.stringMatching(/^iotcloud sim: the broker at mqtts:\/\/\S+ refused device gone1 \(MQTT CONNACK 5, not authorized\): it is not registered with this server.*next: register it with `iotcloud register <name> --device-id gone1 --out certs`/),
    ]);
    expect(device.stdout()).not.toMatch(/connection attempt failed|stack/);
  }, 60_000);

  it('a device unregistered while it runs: JSON lines when piped, each key once; then exit 3', async () => {
    await register('gone2');
    const device = sim(['--device', 'gone2']);
    await device.waitFor(/simulated device running/);
    await iotcloud('unregister', 'gone2');
    expect(await device.exited).toBe(REFUSED);
    expect(device.stderr()).toMatch(/refused device gone2 .*iotcloud register/);
    const lines = device.stdout().trim().split('\n');
    for (const line of lines) {
      expect(() => JSON.parse(line), line).not.toThrow();
      expect(line.match(/"deviceId"/g), line).toHaveLength(1);
    }
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['device connected', 'simulated device running; Ctrl-C stops it', 'device disconnected']);
    expect(device.stdout()).not.toContain('stack');
  }, 60_000);

  it('--log-level warn --log-format pretty: a broker away is retried, one human line per attempt, info lines gone', async () => {
    await register('away1');
    const [closedPort] = await freePorts(1);
    const device = sim(['--device', 'away1', '--url', `mqtts://127.0.0.1:${closedPort}`, '--log-level', 'warn', '--log-format', 'pretty']);
    await device.waitFor(/(?:.*connection attempt failed.*\n){3}/);
    device.child.kill('SIGINT');
    expect(await device.exited).toBe(0);
    const lines = device.stdout().trim().split('\n');
    for (const line of lines) {
      expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}connection attempt failed deviceId=away1 reason="connect ECONNREFUSED 127\.0\.0\.1:\d+" retryInMs=\d+$/);
    }
    expect(device.stdout()).not.toMatch(/[{}]|stack|INFO/);
  }, 60_000);

  it('--log-level warn: a device that connects, runs and stops writes no info lines', async () => {
    await register('quiet1');
    const device = sim(['--device', 'quiet1', '--log-level', 'warn']);
    // No log line says it is up: the server's device list does.
    for (;;) {
      const devices = JSON.parse(await iotcloud('devices', '--json')) as { deviceId: string; online: boolean }[];
      if (devices.find((d) => d.deviceId === 'quiet1')?.online) break;
      if (device.child.exitCode !== null) throw new Error(`iotcloud sim exited: ${device.stderr()}`);
    }
    device.child.kill('SIGINT');
    expect(await device.exited).toBe(0);
    expect(device.stdout()).toBe('');
  }, 60_000);

  it('--log-format pretty at the default level: info lines, human, each key once, no JSON', async () => {
    await register('pretty1');
    const device = sim(['--device', 'pretty1', '--log-format', 'pretty']);
    await device.waitFor(/simulated device running/);
    device.child.kill('SIGINT');
    expect(await device.exited).toBe(0);
    const lines = device.stdout().trim().split('\n');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}device connected deviceId=pretty1 transport=mqtt$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}simulated device running; Ctrl-C stops it deviceId=pretty1 transport=mqtt url=mqtts:\/\/\S+ mac=\S+ profile=none$/);
    expect(lines.at(-1)).toMatch(/ INFO {2}simulated device stopped deviceId=pretty1 counters=\{"received":0,/);
    for (const line of lines) {
      expect(line).not.toMatch(/^\{/);
      expect(line.match(/deviceId=/g), line).toHaveLength(1);
    }
  }, 60_000);

  it('iotcloud up takes the same flags: --log-level info --log-format pretty gives human lines, no JSON', () => {
    expect(up.output()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}Server listening at \S+ component=api$/m);
    expect(up.output()).not.toMatch(/^\{/m);
  });

  it('on a terminal: human lines in colour by default', async () => {
    await register('tty1');
    const device = sim(['--device', 'tty1'], { tty: true });
    await device.waitFor(/simulated device running/);
    await iotcloud('unregister', 'tty1');
    expect(await device.exited).toBe(REFUSED);
    const out = device.stdout();
    const ESC = '\x1b';
    expect(out).toContain(`${ESC}[32mINFO ${ESC}[0m device connected ${ESC}[2mdeviceId=${ESC}[0mtty1`);
    expect(out).not.toContain('"level"');
    expect(out).toMatch(/iotcloud sim: the broker at \S+ refused device tty1/);
  }, 60_000);
});
