/**
 * A fleet against a real server (HTTPS API, MQTTS devices with mutual TLS): provisioning through
 * the REST API, every device online, profile behaviour seen from the API, JSON progress, reuse
 * of saved credentials (in-process and through the CLI with a real SIGINT), and a shutdown that
 * leaves no device online. Waits poll real state with deadlines; nothing sleeps to synchronise.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jemallocLibrary } from '../../cli/process/runtime.ts';
import { RestError, type RestClient } from '../../rest-client/index.ts';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';
import { runFleet, type Fleet, type FleetSummary, type ProgressSink, type RunFleetOptions } from '../../simulators/fleet/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const FLEET_SIZE = 50;

let t: TestServer;
let client: RestClient;
let dir: string;
let certsDir: string;

beforeAll(async () => {
  t = await startTestServer();
  client = await t.user();
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-fleet-'));
  certsDir = join(dir, 'certs');
});

afterAll(async () => {
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Poll `probe` until `done` holds, or fail after the deadline with the last value seen. */
async function until<T>(what: string, probe: () => Promise<T> | T, done: (value: T) => boolean, deadlineMs = 20_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${deadlineMs} ms; last seen ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const onlineIds = async () => (await client.listDevices()).devices.filter((device) => device.online).map((device) => device.deviceId).sort();

function captureSink(): ProgressSink & { lines(): Record<string, unknown>[] } {
  let text = '';
  return {
    isTTY: false,
    write: (chunk: string) => (text += chunk),
    lines: () => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Start a fleet run; resolves once the fleet handle exists, with a way to stop it. */
async function startRun(options: Omit<RunFleetOptions, 'signal' | 'handleSignals' | 'onFleet'>) {
  const controller = new AbortController();
  let fleet: Fleet | undefined;
  const done = runFleet({ ...options, signal: controller.signal, handleSignals: false, onFleet: (created) => (fleet = created) });
  done.catch(() => undefined); // awaited by the test; a failure must not go unhandled meanwhile
  await until('fleet created', () => fleet !== undefined, Boolean);
  return { fleet: fleet!, stop: async (): Promise<FleetSummary> => (controller.abort(), done) };
}

describe('fleet against a real server', () => {
  let provisionedIds: string[];
  let profileById: Record<string, string>;

  it('provisions and connects the fleet, shows each profile through the API, reports JSON progress, shuts down cleanly', async () => {
    const output = captureSink();
    const run = await startRun({
      devices: FLEET_SIZE,
      server: { baseUrl: t.server.apiUrl, caPem: t.server.rootCaPem, token: client.token! },
      prefix: 'fleet',
      rate: 500,
      concurrency: 25,
      profiles: ['80%:delay=40-60', '20%:drop=1'],
      saveDir: certsDir,
      output,
      jsonIntervalMs: 100,
    });

    const listed = await until('every device registered', async () => (await client.listDevices()).devices, (devices) => devices.length === FLEET_SIZE);
    expect(listed.map((device) => device.name).sort()).toEqual(Array.from({ length: FLEET_SIZE }, (_, n) => `fleet-${n}`).sort());
    provisionedIds = listed.map((device) => device.deviceId).sort();
    await until('every device online', onlineIds, (ids) => ids.length === FLEET_SIZE);

    const members = run.fleet.members;
    profileById = Object.fromEntries(members.map((member) => [member.identity.deviceId, member.profile]));
    const dropping = members.filter((member) => member.profile === '20%:drop=1');
    const delayed = members.filter((member) => member.profile === '80%:delay=40-60');
    expect([dropping.length, delayed.length]).toEqual([10, 40]);
    // A device that loses every request never answers: the API times out with 504.
    for (const member of dropping.slice(0, 2)) {
      const failure = await client.command(member.identity.deviceId, 'get_status', {}, 300).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(RestError);
      expect((failure as RestError).status).toBe(504);
    }
    // A slow device answers, after its delay.
    for (const member of delayed.slice(0, 2)) {
      const answer = await client.command(member.identity.deviceId, 'get_status', {}, 3000);
      expect(answer.result).toMatchObject({ status: 'running' });
      expect(answer.elapsedMs).toBeGreaterThanOrEqual(40);
    }
    await until('answers counted', () => run.fleet.progress(), (progress) => progress.answered === 2 && progress.dropped === 2);

    const summary = await run.stop();
    expect(summary).toMatchObject({
      phase: 'stopped', reason: 'aborted', size: FLEET_SIZE, provisioned: FLEET_SIZE, connectedAtStop: FLEET_SIZE, connected: 0,
      failed: 0, received: 4, answered: 2, dropped: 2, protocolErrors: 0,
      profiles: [{ label: '80%:delay=40-60', devices: 40 }, { label: '20%:drop=1', devices: 10 }],
    });
    expect(summary.rampMs).toBeGreaterThan(0);
    await until('no device online after shutdown', onlineIds, (ids) => ids.length === 0);

    const lines = output.lines();
    expect(lines.at(-1)).toMatchObject({ type: 'summary', reason: 'aborted' });
    const progress = lines.filter((line) => line.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.some((line) => line.connected === FLEET_SIZE)).toBe(true);
    for (const line of progress) expect(Object.keys(line)).toEqual(expect.arrayContaining(['phase', 'provisioned', 'connecting', 'connected', 'failed', 'answered', 'protocolErrors', 'reconnects', 'rssBytes', 'heapUsedBytes', 'errors']));

    const files = await readdir(certsDir);
    expect(files).toEqual(expect.arrayContaining(['rootca.pem', 'fleet.json', `${provisionedIds[0]}_cert.pem`, `${provisionedIds[0]}_pkey.pem`]));
    expect(files).toHaveLength(2 + 2 * FLEET_SIZE);
    expect((await stat(join(certsDir, `${provisionedIds[0]}_pkey.pem`))).mode & 0o777).toBe(0o600);
  });

  it('reconnects the same devices from saved credentials, registering nothing new', async () => {
    const run = await startRun({ certsDir, rate: 1000, concurrency: 50, profiles: ['80%:delay=40-60', '20%:drop=1'], output: captureSink() });
    await until('the saved devices online again', onlineIds, (ids) => ids.length === FLEET_SIZE);
    expect(await onlineIds()).toEqual(provisionedIds);
    expect((await client.listDevices()).devices).toHaveLength(FLEET_SIZE);
    // The saved order comes back, and with it each device's profile (the plan goes by index).
    expect(run.fleet.members.map((member) => member.identity.name)).toEqual(Array.from({ length: FLEET_SIZE }, (_, n) => `fleet-${n}`));
    expect(Object.fromEntries(run.fleet.members.map((member) => [member.identity.deviceId, member.profile]))).toEqual(profileById);
    const summary = await run.stop();
    expect(summary).toMatchObject({ provisioned: FLEET_SIZE, connectedAtStop: FLEET_SIZE, connected: 0, failed: 0 });
    await until('no device online after shutdown', onlineIds, (ids) => ids.length === 0);
  });

  it('iotcloud fleet --certs: JSON progress, under jemalloc when the system has it, stops cleanly on SIGINT with its final counters', async () => {
    // The real entry point: it runs the fleet again under jemalloc and passes the SIGINT on.
    const child = spawn(process.execPath, [IOTCLOUD_BIN, 'fleet', '--certs', certsDir, '--devices', '10', '--rate', '1000', '--json-interval', '0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lines = () => stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
      await until('10 devices connected (CLI progress)', lines, (seen) => seen.some((line) => line.connected === 10), 30_000);
      expect((await until('online through the API', onlineIds, (ids) => ids.length === 10)).every((id) => provisionedIds.includes(id))).toBe(true);
      expect(lines().find((line) => line.type === 'progress')).toMatchObject({ allocator: jemallocLibrary() ? 'jemalloc' : 'system' });
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(lines().at(-1)).toMatchObject({ type: 'summary', reason: 'signal', connectedAtStop: 10, connected: 0, size: 10 });
      await until('no device online after SIGINT', onlineIds, (ids) => ids.length === 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (stderr) console.error(stderr);
    }
  });
});
