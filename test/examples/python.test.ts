/**
 * The Python examples (examples/python/) proven end to end: client.py against a real server over
 * HTTPS, mqtt_device.py with its registered certificate over MQTTS passing the conformance suite
 * (through REST, and raw over the server's broker), the same device on a plain Mosquitto, and
 * amqp_device.py over AMQPS with SASL EXTERNAL on a project-owned RabbitMQ node. The board's
 * validation is also compared, request by request, with the TypeScript reference board.
 *
 * Needs /usr/bin/python3 with the Debian packages python3-paho-mqtt and python3-pika, RabbitMQ
 * installed (for the project-owned node) and running with the guest login on 127.0.0.1:5672 (the
 * --plain AMQP check), and Mosquitto: the machine's on 127.0.0.1:1883, or the mosquitto binary to
 * start a private one (scripts/setup-system.sh installs the packages). Without them these tests
 * fail with what to install; they are never skipped. IOTCLOUD_TEST_PYTHON_OUTPUT=1 prints the
 * harness console and device logs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceSuite } from '../../harness/conformance/suite.ts';
import { brokerAuthNodeUser, prepareServiceCredentials, startBrokerNode, stopBrokerNode, serviceUsername, type BrokerNode } from '../../broker/node.ts';
import { rabbitmqBin } from '../../broker/layout.ts';
import { createEphemeralCertificateAuthority } from '../../certs/index.ts';
import { commandNames, limits } from '../../firmware-protocol/index.ts';
import { executeHarness, type HarnessOptions, type HarnessRun, type TargetSpec } from '../../harness/index.ts';
import { registerBrokerAuthRoutes } from '../../server/api/broker-auth-routes.ts';
import { openPgliteStore, type SqlRegistryStore } from '../../server/registry/index.ts';
import { Board } from '../../simulators/board.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePorts } from '../../testkit/rabbitmq-platform.ts';
import { messageArbitraries } from '../protocol/arbitraries.ts';

const python = '/usr/bin/python3';
// Every Python process below (including those the harness spawns) leaves no __pycache__ in examples/.
process.env.PYTHONDONTWRITEBYTECODE = '1';
const examples = fileURLToPath(new URL('../../examples/python/', import.meta.url));
const script = (name: string) => join(examples, name);
const mosquittoUrl = 'mqtt://127.0.0.1:1883';
const mosquittoBin = '/usr/sbin/mosquitto';
const machineRabbitmqUrl = 'amqp://guest:guest@127.0.0.1:5672';
const iotcloudBin = fileURLToPath(new URL('../../bin/iotcloud.js', import.meta.url));

/** Fail (never skip) with what to install when Python or a module the examples need is missing. */
function requirePython(modules: Record<string, string>): void {
  const runs = spawnSync(python, ['-c', 'import sys; assert sys.version_info >= (3, 9)'], { encoding: 'utf8' });
  if (runs.error || runs.status !== 0) throw new Error(`${python} (3.9 or later) cannot run${runs.error ? ` (${runs.error.message})` : ''}: install the Debian package python3 (bash scripts/setup-system.sh)`);
  for (const [module, debianPackage] of Object.entries(modules)) {
    const check = spawnSync(python, ['-c', `import ${module}`], { encoding: 'utf8' });
    if (check.status !== 0) {
      throw new Error(`the Python module ${module} is missing: install the Debian package ${debianPackage} (bash scripts/setup-system.sh, as root, does it)\n${check.stderr.trim()}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a Python script to completion; never rejects. */
function runPython(name: string, args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(python, [script(name), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running Python device with its output kept for failure messages. */
interface RunningScript {
  child: ChildProcess;
  output(): string;
  /** Resolves when a line matching `pattern` has been printed (from the start of the process). */
  printed(pattern: RegExp, timeoutMs: number): Promise<void>;
  hasExited(): boolean;
  stop(): Promise<number | null>;
}

function startPython(name: string, args: string[]): RunningScript {
  const child = spawn(python, [script(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const check of waiters) check();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = true;
      for (const check of waiters) check();
      resolve(code);
    }),
  );
  return {
    child,
    output: () => text,
    hasExited: () => exited,
    printed(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms; its output:\n${text}`)), timeoutMs);
        const check = () => {
          if (pattern.test(text)) done();
          else if (exited) done(new Error(`${name} exited before printing ${pattern}; its output:\n${text}`));
        };
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve();
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        const code = await exit;
        clearTimeout(timer);
        return code;
      }
      return exit;
    },
  };
}

/** Poll a condition (for state that has no event to wait on): every 50 ms until it holds or time is up. */
async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function tcpReachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

interface PlainBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * The machine's Mosquitto on 127.0.0.1:1883 when it runs; else a private one on a free loopback port
 * (anonymous, no TLS), so a fresh machine with the mosquitto package needs no running service.
 */
async function plainMosquitto(): Promise<PlainBroker> {
  if (await tcpReachable('127.0.0.1', 1883)) return { url: mosquittoUrl, port: 1883, stop: async () => undefined };
  if (!statSync(mosquittoBin, { throwIfNoEntry: false })) {
    throw new Error(`no MQTT broker at ${mosquittoUrl} and no ${mosquittoBin} to start one: apt-get install mosquitto (bash scripts/setup-system.sh)`);
  }
  const [port] = await freePorts(1);
  const dir = await mkdtemp(join(tmpdir(), 'iotcloud-mosquitto-'));
  const config = join(dir, 'mosquitto.conf');
  await writeFile(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const child = spawn(mosquittoBin, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(async () => child.exitCode === null && (await tcpReachable('127.0.0.1', port!)), 10_000, `mosquitto listening on ${port}; its output:\n${output}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `mqtt://127.0.0.1:${port}`, port: port!, stop };
}

// ---------------------------------------------------------------------------------------------
// The harness

/** Run the harness quietly; its console output comes back for failure messages. */
async function harness(options: Omit<HarnessOptions, 'output' | 'formats'>): Promise<{ run: HarnessRun; console: string }> {
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const run = await executeHarness({ ...options, formats: [], output, color: false, tty: false });
  if (process.env.IOTCLOUD_TEST_PYTHON_OUTPUT) console.log(text);
  return { run, console: text };
}

/** Every required case passed; the failures (required or not) spelled out otherwise. */
function expectConformant({ run, console: text }: { run: HarnessRun; console: string }): void {
  const failures = (run.report?.conformance?.cases ?? []).filter((entry) => entry.status === 'fail').map((entry) => `${entry.required ? 'REQUIRED' : 'optional'} ${entry.id}: ${entry.message}`);
  expect(run.exitCode, `harness exit ${run.exitCode}; failed cases:\n${failures.join('\n')}\n--- harness output ---\n${text}`).toBe(0);
  expect(run.report?.conformance?.counts.requiredFailed).toBe(0);
  expect(failures, 'failed cases').toEqual([]);
}

function caseStatus(run: HarnessRun, id: string): string | undefined {
  return run.report?.conformance?.cases.find((entry) => entry.id === id)?.status;
}

/** Cases that need the wire (raw payloads, topics): they only pass on a direct broker target. */
const rawCases = ['hygiene.cid-echo', 'hygiene.cid-echo-on-error', 'hygiene.empty-payload', 'hygiene.malformed-json', 'hygiene.non-object-array', 'hygiene.non-object-scalar', 'hygiene.invalid-utf8', 'hygiene.oversized', 'hygiene.no-foreign-topics', 'hygiene.unknown-command'];

/** The suite's size, from the suite itself: a new case must not need an edit here. */
const SUITE_SIZE = conformanceSuite().length;

// ---------------------------------------------------------------------------------------------

describe('the Python examples need their packages', () => {
  it('has python3 with paho-mqtt and pika', () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt', pika: 'python3-pika' });
    const version = spawnSync(python, ['-c', 'import paho.mqtt, pika; print(paho.mqtt.__version__, pika.__version__)'], { encoding: 'utf8' });
    expect(version.stdout).toMatch(/^\d+\.\d+/);
  });
});

describe('board.py validates exactly like the TypeScript reference board', () => {

  /** Feed the same requests to a fresh board.py and a fresh simulators/board.ts; compare answers. */
  async function compare(deviceId: string, requests: { topic: string; payload: Buffer }[]): Promise<void> {
    requirePython({});
    const oracle = [
      'import base64, json, sys',
      `sys.path.insert(0, ${JSON.stringify(examples)})`,
      'from board import Board',
      `board = Board(${JSON.stringify(deviceId)})`,
      'for line in sys.stdin:',
      '    request = json.loads(line)',
      '    answer = board.handle(request["topic"], base64.b64decode(request["payload"]))',
      '    print(json.dumps(None if answer is None else {"topic": answer.topic, "payload": base64.b64encode(answer.payload).decode()}))',
    ].join('\n');
    const input = requests.map((request) => JSON.stringify({ topic: request.topic, payload: request.payload.toString('base64') })).join('\n') + '\n';
    const result = spawnSync(python, ['-c', oracle], { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(result.status, result.stderr).toBe(0);
    const answers = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { topic: string; payload: string } | null);
    expect(answers).toHaveLength(requests.length);

    const reference = new Board(deviceId);
    requests.forEach((request, index) => {
      const expected = reference.handle(request.topic, request.payload);
      const got = answers[index]!;
      const what = `request ${index}: ${request.topic} ${JSON.stringify(request.payload.toString('utf8').slice(0, 200))}`;
      if (!expected) {
        expect(got, `${what}: the reference board does not answer`).toBeNull();
        return;
      }
      expect(got, `${what}: the reference board answers ${expected.payload.toString()}`).not.toBeNull();
      expect(got!.topic, what).toBe(expected.topic);
      const mine = Buffer.from(got!.payload, 'base64');
      expect(mine.length, `${what}: answer size`).toBeLessThanOrEqual(limits.maxPayloadBytes);
      expect(comparable(JSON.parse(mine.toString('utf8')), expected.command), what).toEqual(comparable(JSON.parse(expected.payload.toString('utf8')), expected.command));
    });
  }

  /** What must agree: results (the RTC only roughly), error code, name, field and cid; not the wording. */
  function comparable(body: Record<string, unknown>, command: string): unknown {
    if (body.error) {
      const error = body.error as Record<string, unknown>;
      expect(Buffer.byteLength(String(error.message))).toBeLessThan(limits.maxErrorMessageLength);
      return { cid: body.cid, error: { code: error.code, name: error.name, field: error.field } };
    }
    if (command === 'get_rtc') return { ...body, value: typeof body.value === 'number' ? 'a number' : body.value };
    return body;
  }

  it('agrees on hand-picked hostile requests', async () => {
    const id = 'ft900device1';
    const text = (topic: string, payload: string) => ({ topic, payload: Buffer.from(payload) });
    await compare(id, [
      text(`${id}/get_gpio`, '{"cid":"k3x9","number":18}'),
      text(`${id}/set_gpio`, '{"cid":"k3x9","number":18.0,"value":1e0}'),
      text(`${id}/get_gpio`, '{"number":18}'),
      text(`${id}/set_gpio`, '{"number":-0,"value":-0}'),
      text(`${id}/get_gpio`, '{"number":true}'),
      text(`${id}/get_gpio`, '{"number":1e400}'),
      text(`${id}/get_gpio`, '{"number":99999999999999999999999}'),
      text(`${id}/get_gpio`, '{"number":1,"b":1,"7":2,"3":1}'),
      text(`${id}/get_gpio`, '{"b":1}'),
      text(`${id}/get_gpio`, '{"number":1,"number":70}'),
      text(`${id}/get_gpio`, '{"number":1,"__proto__":{}}'),
      text(`${id}/get_gpio`, '{"number":1,"a/b~c":1}'),
      text(`${id}/set_gpio`, '{"value":3}'),
      text(`${id}/set_gpio`, '{"number":1,"value":null}'),
      text(`${id}/set_rtc`, '{"value":4294967296}'),
      text(`${id}/set_rtc`, '{"value":4294967295}'),
      text(`${id}/get_rtc`, ''),
      text(`${id}/get_rtc`, ' \t\r\n'),
      text(`${id}/get_rtc`, '\ufeff'),
      text(`${id}/get_rtc`, '\u00a0'),
      text(`${id}/get_rtc`, '\u0085'),
      text(`${id}/get_status`, '{"a":NaN}'),
      text(`${id}/get_status`, '{"a":Infinity}'),
      text(`${id}/get_status`, "{'a':1}"),
      text(`${id}/get_status`, '{"a":1,}'),
      text(`${id}/get_status`, '{"a":"\u0001"}'),
      text(`${id}/get_status`, 'null'),
      text(`${id}/get_status`, '"text"'),
      text(`${id}/get_status`, '\ufeff{}'),
      text(`${id}/get_status`, '{"cid":null}'),
      text(`${id}/get_status`, '{"cid":""}'),
      text(`${id}/get_status`, `{"cid":"${'a'.repeat(33)}"}`),
      text(`${id}/get_status`, '{"cid":"ok","extra":1}'),
      text(`${id}/write_uart`, '{"data":""}'),
      text(`${id}/write_uart`, '{"data":"\\ud800"}'),
      text(`${id}/write_uart`, `{"data":"${'😀'.repeat(64)}"}`),
      text(`${id}/write_uart`, `{"data":"${'😀'.repeat(65)}"}`),
      text(`${id}/write_uart`, `{"data":"${'é'.repeat(129)}"}`),
      text(`${id}/write_uart`, `{"data":"${'x'.repeat(4090)}"}`),
      text(`${id}/write_uart`, `{"data":"${'x'.repeat(4084)}"}`),
      text(`${id}/get_status`, `${'['.repeat(2040)}${']'.repeat(2040)}`),
      text(`${id}/get_gpio`, `{"number":1,"a":${'['.repeat(2000)}${']'.repeat(2000)}}`),
      text(`${id}/no_such_command`, '{"cid":"u1"}'),
      text(`${id}/no_such_command`, '[1]'),
      text(`${id}/bad command`, '{"cid":"u1"}'),
      text(`${id}/`, '{"cid":"u1"}'),
      text(id, '{"cid":"u1"}'),
      text(`${id}/a/get_status`, '{"cid":"u1"}'),
      text(`other-device/get_status`, '{}'),
      { topic: `${id}/get_gpio`, payload: Buffer.concat([Buffer.from('{"number":'), Buffer.from([0xff, 0xfe]), Buffer.from('}')]) },
      { topic: `${id}/get_gpio`, payload: Buffer.from([0xed, 0xa0, 0x80]) },
      text(`${id}/reset_device`, '{"cid":"r1"}'),
      text(`${id}/set_gpio`, '{"cid":"r2","number":1,"value":1}'),
      text(`${id}/get_status`, '{"cid":"r3"}'),
    ]);
  });

  it('answers a request whose field pointer cannot fit the error body, leaving the field out (as the reference board does)', () => {
    // The protocol says a device answers every request; `field` is at most 64 characters.
    const payload = `{"number":1,"${'k'.repeat(70)}":1}`;
    const reference = JSON.parse(new Board('dev-1').handle('dev-1/get_gpio', payload)!.payload.toString()) as { error: Record<string, unknown> };
    expect(reference.error).toMatchObject({ code: 2, name: 'INVALID_PARAMS' });
    expect(reference.error).not.toHaveProperty('field');
    const oracle = `import sys; sys.path.insert(0, ${JSON.stringify(examples)}); from board import Board; print(Board("dev-1").handle("dev-1/get_gpio", sys.argv[1].encode()).payload.decode())`;
    const answer = spawnSync(python, ['-c', oracle, payload], { encoding: 'utf8' });
    expect(answer.status, answer.stderr).toBe(0);
    const body = JSON.parse(answer.stdout) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ code: 2, name: 'INVALID_PARAMS' });
    expect(body.error).not.toHaveProperty('field');
  });

  it('agrees on 3000 generated requests (valid, mutated, and garbage)', async () => {
    const id = 'dev-42';
    const commands = [...commandNames.filter((name) => name !== 'reset_device'), 'no_such_command'];
    const field = fc.oneof({ arbitrary: fc.constantFrom('number', 'value', 'data', 'extra', '0', '12', ''), weight: 6 }, { arbitrary: fc.constant('cid'), weight: 1 }, { arbitrary: fc.string({ maxLength: 10 }), weight: 1 });
    const anyValue = fc.oneof(fc.jsonValue(), fc.integer({ min: -5, max: 70 }), fc.double(), fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom(0, 1, 66, 67, -1, 0.5, 4294967295, 4294967296, '18', true, null));
    const valid = fc.constantFrom(...commandNames.filter((name) => name !== 'reset_device')).chain((command) =>
      (messageArbitraries[command] as fc.Arbitrary<{ request: object }>).map(({ request }) => ({ command: command as string, body: request as Record<string, unknown> })),
    );
    const mutated = fc.tuple(valid, fc.dictionary(field, anyValue, { maxKeys: 3 }), fc.boolean()).map(([{ command, body }, changes, drop]) => {
      const next: Record<string, unknown> = { ...body, ...changes };
      if (drop) delete next[Object.keys(body)[0] ?? ''];
      return { command, body: next };
    });
    const json = fc.oneof(valid, mutated, fc.record({ command: fc.constantFrom(...commands), body: fc.dictionary(field, anyValue, { maxKeys: 4 }) }))
      .chain(({ command, body }) => fc.tuple(fc.constant(command), fc.option(fc.oneof({ arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,32}$/), weight: 5 }, { arbitrary: anyValue, weight: 1 }), { nil: undefined }), fc.constant(body)))
      .map(([command, cid, body]) => ({ topic: `${id}/${command}`, payload: Buffer.from(JSON.stringify(cid === undefined ? body : { cid, ...body })) }));
    const garbage = fc.record({
      topic: fc.constantFrom(...commands).map((command) => `${id}/${command}`),
      payload: fc.oneof(fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)), fc.string({ unit: 'binary', maxLength: 64 }).map((s) => Buffer.from(s)), fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? ''))),
    });
    const requests = fc.sample(fc.oneof({ arbitrary: json, weight: 4 }, { arbitrary: garbage, weight: 1 }), { numRuns: 3000, seed: 20251126 });
    await compare(id, requests);
  });
});

describe('client.py and mqtt_device.py on the reference server (HTTPS, MQTTS with the registered certificate)', () => {
  let t: TestServer;
  let dir: string;
  let device: RunningScript | undefined;
  let deviceId: string;
  let token: string;
  const common = () => ['--server', t.server.apiUrl, '--ca', t.server.caCertPath, '--token-file', join(dir, 'token.json')];
  const client = (...args: string[]) => runPython('client.py', [...args, ...common()]);
  const cmd = async (command: string, params?: object) => {
    const result = await client('cmd', deviceId, command, ...(params ? [JSON.stringify(params)] : []));
    expect(result.code, `client.py cmd ${command}: ${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout) as { result: Record<string, unknown> };
  };
  const listed = async () => {
    const result = await client('devices');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { deviceId: string; online: boolean }[];
  };

  beforeAll(async () => {
    t = await startTestServer({ servicePort: 0 });
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-python-'));
  });

  afterAll(async () => {
    await device?.stop();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('client.py signs up, logs in (token file 0600), registers (PEM files, key 0600) and lists', async () => {
    requirePython({});
    const user = `py${process.pid}`;
    const signup = await client('signup', user, '--password', 'correct horse battery');
    expect(signup.code, signup.stderr).toBe(0);
    expect(JSON.parse(signup.stdout)).toMatchObject({ username: user });

    // Options before the subcommand work too.
    const login = await runPython('client.py', [...common(), 'login', user], { IOTCLOUD_PASSWORD: 'correct horse battery' });
    expect(login.code, login.stderr).toBe(0);
    expect(statSync(join(dir, 'token.json')).mode & 0o777).toBe(0o600);
    token = (JSON.parse(await readFile(join(dir, 'token.json'), 'utf8')) as { token: string }).token;
    expect(token).toMatch(/\S{20,}/);

    const out = join(dir, 'device');
    const register = await client('register', 'python board', '--out', out);
    expect(register.code, register.stderr).toBe(0);
    const registration = JSON.parse(register.stdout) as { deviceId: string; mqttUrl: string };
    deviceId = registration.deviceId;
    expect(registration.mqttUrl).toBe(t.server.mqttUrl);
    expect(await readFile(join(out, 'rootca.pem'), 'utf8')).toBe(t.server.rootCaPem);
    expect(await readFile(join(out, `${deviceId}_cert.pem`), 'utf8')).toMatch(/BEGIN CERTIFICATE/);
    expect(await readFile(join(out, `${deviceId}_pkey.pem`), 'utf8')).toMatch(/PRIVATE KEY/);
    expect(statSync(join(out, `${deviceId}_pkey.pem`)).mode & 0o777).toBe(0o600);

    expect(await listed()).toEqual([expect.objectContaining({ deviceId, online: false })]);
  });

  it('mqtt_device.py connects with the written PEM files and answers commands through REST', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const { hostname, port } = new URL(t.server.mqttUrl);
    device = startPython('mqtt_device.py', ['--device', deviceId, '--dir', join(dir, 'device'), '--host', hostname, '--port', port]);
    await until(async () => (await listed()).some((entry) => entry.deviceId === deviceId && entry.online), 15_000, `${deviceId} online; device output:\n${device.output()}`);
    await device.printed(/ready: listening/, 5000);

    expect((await cmd('get_status')).result).toEqual({ status: 'running' });
    expect((await cmd('set_gpio', { number: 18, value: 1 })).result).toEqual({ number: 18, value: 1 });
    expect((await cmd('get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 1 });
    expect((await cmd('get_gpio', { number: 17 })).result).toEqual({ number: 17, value: 0 });
    expect((await cmd('write_uart', { data: 'héllo ft900' })).result).toEqual({ data: 'héllo ft900' });
    expect((await cmd('set_rtc', { value: 1_764_144_000 })).result).toEqual({ value: 1_764_144_000 });
    expect((await cmd('get_rtc')).result.value).toBeGreaterThanOrEqual(1_764_144_000);
    const mac = (await cmd('get_mac')).result.value;
    expect(mac).toBe(new Board(deviceId).mac); // the same derivation as the TypeScript simulator
    expect((await cmd('get_ip')).result.value).toMatch(/^192\.168\.1\.\d+$/);
    expect((await cmd('get_subnet')).result).toEqual({ value: '255.255.255.0' });
    expect((await cmd('get_gateway')).result).toEqual({ value: '192.168.1.1' });
  });

  it('passes the conformance suite through the REST API', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const result = await harness({ target: { kind: 'rest', baseUrl: t.server.apiUrl, token, deviceId, ca: t.server.rootCaPem } });
    expectConformant(result);
    expect(caseStatus(result.run, 'reset.restarting-then-back')).toBe('pass');
    expect(caseStatus(result.run, 'gpio.set-get')).toBe('pass');
  }, 120_000);

  it('passes the whole suite raw on the server\'s own broker (service login), TLS device unchanged', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const service = t.server.service!;
    const target: TargetSpec = { kind: 'mqtt', url: service.url, deviceId, username: service.username, password: service.password, clientId: `${service.clientIdPrefix}py-${randomBytes(3).toString('hex')}` };
    const result = await harness({ target });
    expectConformant(result);
    for (const id of rawCases) expect(caseStatus(result.run, id), id).toBe('pass');
    expect(result.run.report?.conformance?.counts.notApplicable).toBe(0);
  }, 120_000);

  it('reset_device answers restarting, comes back with power-on state, and the process never restarts', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const pid = device!.child.pid;
    expect((await cmd('set_gpio', { number: 18, value: 1 })).result).toEqual({ number: 18, value: 1 });
    expect((await cmd('reset_device')).result).toEqual({ status: 'restarting' });
    await until(async () => (await client('cmd', deviceId, 'get_status', '--timeout', '500')).stdout.includes('"running"'), 15_000, 'get_status running after reset');
    expect((await cmd('get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 0 });
    expect(device!.output()).toMatch(/board rebooted/);
    expect(device!.hasExited()).toBe(false);
    expect(device!.child.pid).toBe(pid);
  }, 30_000);

  it('client.py reports failures with the HTTP status, error name, message and field, and exit codes', async () => {
    const invalid = await client('cmd', deviceId, 'set_gpio', '{"number":99,"value":1}');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error: HTTP 400 INVALID_PARAMS: .+ \(field \/number\)$/m);

    const unknownDevice = await client('cmd', 'no-such-device', 'get_status');
    expect(unknownDevice.code).toBe(1);
    expect(unknownDevice.stderr).toMatch(/HTTP 404 NOT_FOUND/);

    const unknownCommand = await client('cmd', deviceId, 'fly');
    expect(unknownCommand.code).toBe(1);
    expect(unknownCommand.stderr).toMatch(/HTTP 400 UNKNOWN_COMMAND: .*fly/);

    const badJson = await client('cmd', deviceId, 'set_gpio', '{number:1}');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/parameters must be JSON/);

    const badLogin = await client('login', 'nobody-here', '--password', 'wrong password');
    expect(badLogin.code).toBe(1);
    expect(badLogin.stderr).toMatch(/HTTP 401/);

    const noToken = await runPython('client.py', ['devices', '--server', t.server.apiUrl, '--ca', t.server.caCertPath, '--token-file', join(dir, 'missing.json')]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/not logged in/);

    const badToken = await runPython('client.py', ['devices', '--server', t.server.apiUrl, '--ca', t.server.caCertPath, '--token', 'not-a-token']);
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/HTTP 401 UNAUTHORIZED/);

    // A CA that did not sign the server's certificate (explicit, so the result never depends on
    // what the working directory or the environment happen to hold).
    const foreignCa = join(dir, 'foreign-ca.pem');
    await writeFile(foreignCa, (await createEphemeralCertificateAuthority({ commonName: 'foreign' })).rootCertPem);
    const untrusted = await runPython('client.py', ['devices', '--server', t.server.apiUrl, '--ca', foreignCa, '--token', token]);
    expect(untrusted.code, untrusted.stderr).toBe(1);
    expect(untrusted.stderr).toMatch(/not trusted.*--ca/);

    const usage = await runPython('client.py', []);
    expect(usage.code).toBe(2);
  });

  it('unregister disconnects the device; it is refused from then on and keeps retrying without crashing', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const unregister = await client('unregister', deviceId);
    expect(unregister.code, unregister.stderr).toBe(0);
    expect(await listed()).toEqual([]);
    await device!.printed(/refused the connection|cannot connect/, 15_000);
    expect(device!.hasExited()).toBe(false);
    expect(await device!.stop()).toBe(0);
    expect(device!.output()).toMatch(/stopped/);
    if (process.env.IOTCLOUD_TEST_PYTHON_OUTPUT) console.log(device!.output());
  }, 30_000);
});

describe('iotcloud harness --embedded --spawn with mqtt_device.py (settings from the environment)', () => {
  it('passes: the device takes its id, broker URL and TLS files from IOTCLOUD_* variables', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const dir = await mkdtemp(join(tmpdir(), 'iotcloud-python-embedded-'));
    try {
      const result = await new Promise<RunResult>((resolve) => {
        const child = spawn(process.execPath, [iotcloudBin, 'harness', '--embedded', '--spawn', `${python} ${script('mqtt_device.py')}`, '--format', 'json', '--report-dir', 'reports'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`${SUITE_SIZE} passed of ${SUITE_SIZE} cases`));
      const report = JSON.parse(await readFile(join(dir, 'reports', 'harness-report.json'), 'utf8')) as { exitCode: number };
      expect(report.exitCode).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('mqtt_device.py --plain on a plain Mosquitto (the machine\'s on 127.0.0.1:1883, anonymous)', () => {
  let broker: PlainBroker;

  beforeAll(async () => {
    broker = await plainMosquitto();
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('passes the whole conformance suite, raw cases included', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const deviceId = `py-plain-${process.pid}-${randomBytes(3).toString('hex')}`;
    const result = await harness({
      target: { kind: 'mqtt', url: broker.url, deviceId },
      spawn: { command: `${python} ${script('mqtt_device.py')} --plain --host 127.0.0.1 --port ${broker.port} --device ${deviceId}` },
      startupTimeoutMs: 15_000,
    });
    expectConformant(result);
    for (const id of rawCases) expect(caseStatus(result.run, id), id).toBe('pass');
    expect(result.run.report?.conformance?.counts.notApplicable).toBe(0);
  }, 120_000);

  it('--plain refuses a broker that is not on this machine', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const result = await runPython('mqtt_device.py', ['--plain', '--host', '192.0.2.1', '--device', 'dev-1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/only allowed for a broker on this machine/);
  });

  it('says which TLS file is missing', async () => {
    requirePython({ 'paho.mqtt.client': 'python3-paho-mqtt' });
    const result = await runPython('mqtt_device.py', ['--device', 'dev-1', '--dir', '/nonexistent']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the CA file \/nonexistent\/rootca\.pem does not exist/);
  });
});

/**
 * A project-owned RabbitMQ node (broker/) with the server's broker-auth endpoints deciding who may
 * do what, plus a loopback plain-MQTT listener where the harness logs in as the server's own user.
 */
describe('amqp_device.py on a project-owned RabbitMQ node (AMQPS, SASL EXTERNAL with the device certificate)', () => {
  let node: BrokerNode | undefined;
  let stateDir: string;
  let dir: string;
  let store: SqlRegistryStore;
  let authApp: FastifyInstance | undefined;
  let ca: Awaited<ReturnType<typeof createEphemeralCertificateAuthority>>;
  let mqttPort: number;
  let ownerId: string;

  beforeAll(async () => {
    if (!statSync(`${rabbitmqBin}/rabbitmq-server`, { throwIfNoEntry: false })) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): apt-get install rabbitmq-server`);
    stateDir = await mkdtemp(join(tmpdir(), 'iotcloud-python-rabbitmq-'));
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-python-amqp-'));
    ca = await createEphemeralCertificateAuthority();
    const serverTls = await ca.issueServerCertificate(['localhost', '127.0.0.1']);
    store = await openPgliteStore(undefined);
    await store.migrate();
    ownerId = (await store.createUser(`owner${process.pid}`, 'not-a-real-hash')).id;
    const logger = pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' });
    authApp = Fastify({ https: { cert: serverTls.certPem, key: serverTls.keyPem }, loggerInstance: logger }) as unknown as FastifyInstance;
    const { authSecret } = await prepareServiceCredentials(stateDir);
    registerBrokerAuthRoutes(authApp, { authority: store, serviceUser: serviceUsername, node: { user: brokerAuthNodeUser, secret: authSecret }, logger });
    await authApp.listen({ host: '127.0.0.1', port: 0 });
    const authPort = (authApp.server.address() as { port: number }).port;
    const [amqpsPort, mqttsPort, distPort, plainMqttPort] = await freePorts(4);
    mqttPort = plainMqttPort!;
    node = await startBrokerNode({
      stateDir,
      amqpsPort,
      mqttsPort,
      mqttPort,
      distPort,
      tls: { clientTrustPem: ca.clientTrustPem, rootCaPem: ca.rootCertPem, certPem: serverTls.certPem, keyPem: serverTls.keyPem },
      authUrl: `https://127.0.0.1:${authPort}/api/v1/broker-auth`,
      logLevel: process.env.IOTCLOUD_TEST_RABBITMQ_LOG ?? 'warning',
      install: false,
    });
  }, 120_000);

  afterAll(async () => {
    if (node) await stopBrokerNode({ stateDir });
    await authApp?.close();
    await store?.close();
    for (const folder of [stateDir, dir]) if (folder) await rm(folder, { recursive: true, force: true });
  }, 60_000);

  async function register(deviceId: string): Promise<void> {
    const issued = await ca.issueDeviceCertificate(deviceId);
    await store.createDevice({ id: deviceId, ownerId, name: `python board ${deviceId}`, certFingerprint: issued.fingerprint });
    await writeFile(join(dir, 'rootca.pem'), ca.rootCertPem);
    await writeFile(join(dir, `${deviceId}_cert.pem`), issued.certPem);
    await writeFile(join(dir, `${deviceId}_pkey.pem`), issued.keyPem, { mode: 0o600 });
  }

  it('passes the whole conformance suite, raw cases included (harness on MQTT, device on AMQP 0-9-1)', async () => {
    requirePython({ pika: 'python3-pika' });
    const deviceId = `py-amqp-${process.pid}`;
    await register(deviceId);
    const result = await harness({
      target: { kind: 'mqtt', url: `mqtt://127.0.0.1:${mqttPort}`, deviceId, username: node!.credentials.username, password: node!.credentials.password },
      spawn: { command: `${python} ${script('amqp_device.py')} --device ${deviceId} --dir ${dir} --host 127.0.0.1 --port ${node!.amqpsPort}` },
      startupTimeoutMs: 20_000,
    });
    expectConformant(result);
    for (const id of rawCases) expect(caseStatus(result.run, id), id).toBe('pass');
    expect(result.run.report?.conformance?.counts.notApplicable).toBe(0);
  }, 120_000);

  it('mqtt_device.py over RabbitMQ MQTTS passes the whole conformance suite too', async () => {
    requirePython({ paho: 'python3-paho-mqtt' });
    const deviceId = `py-mqtt-${process.pid}`;
    await register(deviceId);
    const result = await harness({
      target: { kind: 'mqtt', url: `mqtt://127.0.0.1:${mqttPort}`, deviceId, username: node!.credentials.username, password: node!.credentials.password },
      spawn: { command: `${python} ${script('mqtt_device.py')} --device ${deviceId} --dir ${dir} --url ${node!.mqttsUrl}` },
      startupTimeoutMs: 20_000,
    });
    expectConformant(result);
    expect(result.run.report?.conformance?.counts.notApplicable).toBe(0);
  }, 120_000);

  it('a device whose certificate is not registered is refused and keeps retrying', async () => {
    requirePython({ pika: 'python3-pika' });
    const deviceId = `py-amqp-unregistered-${process.pid}`;
    const issued = await ca.issueDeviceCertificate(deviceId); // a platform certificate, but no registry entry
    await writeFile(join(dir, 'rootca.pem'), ca.rootCertPem);
    await writeFile(join(dir, `${deviceId}_cert.pem`), issued.certPem);
    await writeFile(join(dir, `${deviceId}_pkey.pem`), issued.keyPem, { mode: 0o600 });
    const device = startPython('amqp_device.py', ['--device', deviceId, '--dir', dir, '--host', '127.0.0.1', '--port', String(node!.amqpsPort)]);
    try {
      await device.printed(/refused the login|connection to .* failed/, 15_000);
      expect(device.output()).not.toMatch(/ready: consuming/);
      expect(device.hasExited()).toBe(false);
    } finally {
      expect(await device.stop()).toBe(0);
      if (process.env.IOTCLOUD_TEST_PYTHON_OUTPUT) console.log(device.output());
    }
  }, 30_000);
});

describe('amqp_device.py --plain on the machine\'s RabbitMQ (amqp://127.0.0.1:5672, guest login)', () => {
  it('consumes its queue and answers on server.<id>.<command>, across a reset', async () => {
    requirePython({ pika: 'python3-pika' });
    const model = await amqp.connect(machineRabbitmqUrl).catch((error: Error) => {
      throw new Error(`no RabbitMQ with the guest login at 127.0.0.1:5672 (${error.message}): install and start rabbitmq-server for this test`);
    });
    const deviceId = `py-amqp-plain-${process.pid}-${randomBytes(3).toString('hex')}`;
    const channel = await model.createChannel();
    const answers: { key: string; body: Record<string, unknown> }[] = [];
    const waiters = new Set<() => void>();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, 'amq.topic', `server.${deviceId}.#`);
    await channel.consume(queue, (message) => {
      if (!message) return;
      answers.push({ key: message.fields.routingKey, body: JSON.parse(message.content.toString('utf8')) as Record<string, unknown> });
      for (const check of waiters) check();
    }, { noAck: true });
    /** Publish a raw request; resolves with the answer carrying `cid` (or the next one on that key without a cid). */
    const ask = (command: string, payload: string, cid?: string, timeoutMs = 5000) =>
      new Promise<{ key: string; body: Record<string, unknown> }>((resolve, reject) => {
        const seen = answers.length;
        const timer = setTimeout(() => finish(new Error(`no answer to ${command} ${payload} within ${timeoutMs} ms; device output:\n${device.output()}`)), timeoutMs);
        const check = () => {
          const found = answers.slice(seen).find((answer) => answer.key === `server.${deviceId}.${command}` && answer.body.cid === cid);
          if (found) finish(undefined, found);
        };
        const finish = (error?: Error, answer?: { key: string; body: Record<string, unknown> }) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(answer!);
        };
        waiters.add(check);
        channel.publish('amq.topic', `${deviceId}.${command}`, Buffer.from(payload));
      });
    const device = startPython('amqp_device.py', ['--plain', '--device', deviceId]);
    try {
      await device.printed(/ready: consuming mqtt-subscription-/, 15_000);
      expect((await ask('get_status', '{"cid":"s1"}', 's1')).body).toEqual({ cid: 's1', status: 'running' });
      expect((await ask('set_gpio', '{"cid":"g1","number":18,"value":1}', 'g1')).body).toEqual({ cid: 'g1', number: 18, value: 1 });
      expect((await ask('get_gpio', '{"cid":"g2","number":18}', 'g2')).body).toEqual({ cid: 'g2', number: 18, value: 1 });
      expect((await ask('get_gpio', '[18]')).body).toMatchObject({ error: { code: 5, name: 'MALFORMED' } });
      expect((await ask('get_gpio', '{"cid":"g3","number":67}', 'g3')).body).toMatchObject({ cid: 'g3', error: { code: 2, name: 'INVALID_PARAMS', field: '/number' } });
      expect((await ask('reset_device', '{"cid":"r1"}', 'r1')).body).toEqual({ cid: 'r1', status: 'restarting' });
      // Requests wait in the durable queue while the device restarts; the first one may still meet
      // the device on its way down (it then answers "restarting").
      let status = '';
      for (let attempt = 0; attempt < 20 && status !== 'running'; attempt++) status = String((await ask('get_status', `{"cid":"b${attempt}"}`, `b${attempt}`)).body.status);
      expect(status).toBe('running');
      expect((await ask('get_gpio', '{"cid":"g4","number":18}', 'g4')).body).toEqual({ cid: 'g4', number: 18, value: 0 });
      expect(device.output()).toMatch(/board rebooted/);
    } finally {
      expect(await device.stop()).toBe(0);
      await channel.deleteQueue(`mqtt-subscription-${deviceId}qos1`).catch(() => undefined);
      await model.close().catch(() => undefined);
    }
  }, 60_000);
});
