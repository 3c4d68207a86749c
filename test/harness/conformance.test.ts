/**
 * The conformance suite against real devices on a real broker: a good simulated device passes,
 * each deliberate fault fails the cases that should catch it (with a message a firmware developer
 * can act on), and a silent device ends the run quickly with timeouts instead of hanging.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import type { SimulatedDevice } from '../../simulators/index.ts';
import { executeHarness, type CaseResult, type HarnessOptions, type HarnessRun } from '../../harness/index.ts';
import { captureOutput, isRunning, silentDevice, simulatedDevice, startBroker, type TestBroker } from './fixtures.ts';

let broker: TestBroker;
const devices: SimulatedDevice[] = [];
let deviceNumber = 0;

beforeAll(async () => {
  broker = await startBroker();
});

afterEach(async () => {
  for (const device of devices.splice(0)) await device.stop();
});

afterAll(async () => {
  await broker.close();
});

async function device(profile = ''): Promise<string> {
  const deviceId = `sim${deviceNumber++}`;
  devices.push(await simulatedDevice(broker.url, deviceId, profile));
  return deviceId;
}

function harness(deviceId: string, extra: Partial<HarnessOptions> = {}): Promise<HarnessRun & { output: string }> {
  const output = captureOutput();
  return executeHarness({ target: { kind: 'mqtt', url: broker.url, deviceId }, deadlineMs: 1000, output, tty: false, ...extra }).then((run) => ({
    ...run,
    output: output.text(),
  }));
}

const cases = (run: HarnessRun): CaseResult[] => run.report?.conformance?.cases ?? [];
const failed = (run: HarnessRun): CaseResult[] => cases(run).filter((result) => result.status === 'fail');
const byId = (run: HarnessRun, id: string): CaseResult => {
  const found = cases(run).find((result) => result.id === id);
  if (!found) throw new Error(`no case ${id}`);
  return found;
};

describe('a conforming simulated device', () => {
  it('passes every case of the full suite (the duration is printed; timing targets live in bench/)', async () => {
    const deviceId = await device();
    const startedAt = performance.now();
    const run = await harness(deviceId);
    const elapsedMs = performance.now() - startedAt;
    console.log(`full conformance run against one simulated device: ${Math.round(elapsedMs)} ms, ${cases(run).length} cases`);

    expect(failed(run).map((result) => `${result.id}: ${result.message}`)).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(cases(run).every((result) => result.status === 'pass')).toBe(true);
    expect(cases(run).length).toBeGreaterThan(50);
    // The suite is generated from the spec: every command appears, with boundaries and invalid variants.
    const ids = cases(run).map((result) => result.id);
    expect(ids).toEqual(expect.arrayContaining(['set_gpio.boundary.number-min', 'set_gpio.boundary.number-max', 'set_rtc.boundary.value-max', 'write_uart.boundary.data-max-length']));
    expect(ids).toEqual(expect.arrayContaining(['set_gpio.invalid.number-above-max', 'write_uart.invalid.data-too-many-utf8-bytes', 'get_status.invalid.extra-field']));
    expect(ids[0]).toBe('status.running');
    expect(ids.at(-1)).toBe('hygiene.no-foreign-topics');
    // Plain lines on a non-TTY: no escape codes, one line per case.
    expect(run.output).not.toContain('\x1b[');
    expect(run.output).toMatch(/\[ ?1\/\d+\] PASS status\.running/);
  });

  it('runs only the selected cases', async () => {
    const deviceId = await device();
    const run = await harness(deviceId, { only: ['gpio', 'hygiene.cid-echo'], skip: ['hygiene.cid-echo-on-error'] });
    expect(cases(run).map((result) => result.id)).toEqual(['gpio.set-get', 'hygiene.cid-echo']);
    expect(run.exitCode).toBe(0);
  });
});

describe('devices with faults', () => {
  it('legacy (no cid): exactly the cid cases fail, and say what the answer lacked', async () => {
    const deviceId = await device('legacy');
    const run = await harness(deviceId);
    expect(failed(run).map((result) => result.id).sort()).toEqual(['hygiene.cid-echo', 'hygiene.cid-echo-on-error']);
    expect(run.exitCode).toBe(1);
    const echo = byId(run, 'hygiene.cid-echo');
    expect(echo.message).toMatch(/sent get_status \{"cid":"hx[0-9a-f]+"\}/);
    expect(echo.message).toContain('but it has no cid');
    expect(echo.message).toContain(`server/${deviceId}/get_status {"status":"running"}`);
    expect(run.report?.verdict).toContain('hygiene.cid-echo');
  });

  it('answers with wrong types: the schema cases fail and quote the bad answer and the schema error', async () => {
    const deviceId = await device('malformed=1@types');
    const run = await harness(deviceId, { only: ['status', 'get_gpio.example', 'set_rtc.example', 'get_mac.example', 'write_uart.boundary'] });
    expect(cases(run).length).toBe(7);
    expect(failed(run).length).toBe(7);
    const gpio = byId(run, 'get_gpio.example');
    expect(gpio.message).toContain('sent get_gpio {"number":18}');
    expect(gpio.message).toContain('which is not a valid answer');
    expect(gpio.message).toMatch(/"number":"18"/);
    expect(gpio.message).toMatch(/\/number: Expected integer/);
    expect(run.exitCode).toBe(1);
  });

  it('answers that are not JSON: the cases fail saying the payload is not JSON', async () => {
    const deviceId = await device('malformed=1@json');
    const run = await harness(deviceId, { only: ['get_status.example', 'set_gpio.example'] });
    expect(failed(run).map((result) => result.id)).toEqual(['set_gpio.example', 'get_status.example']);
    for (const result of failed(run)) expect(result.message).toContain('payload is not JSON');
  });

  it('answers on the wrong command topic: the case fails and the foreign-topic check reports it', async () => {
    const deviceId = await device('malformed=1@topic');
    const run = await harness(deviceId, { only: ['get_mac.example', 'hygiene.no-foreign-topics'] });
    expect(byId(run, 'get_mac.example').message).toContain(`published on server/${deviceId}/get_ip, not server/${deviceId}/get_mac`);
    expect(byId(run, 'hygiene.no-foreign-topics').status).toBe('fail');
    expect(byId(run, 'hygiene.no-foreign-topics').message).toContain(`server/${deviceId}/get_ip`);
  });

  it('a device answering on another device\'s topic is caught by the foreign-topic check', async () => {
    const deviceId = await device();
    const impostor = await silentDevice(broker.url, `${deviceId}-twin`);
    // Echo every request of the device under test onto the twin's answer topic.
    await impostor.subscribeAsync(`${deviceId}/#`, { qos: 1 });
    impostor.on('message', (topic, payload) => {
      if (topic.startsWith(`${deviceId}/`)) impostor.publish(`server/${deviceId}-twin/${topic.split('/')[1]}`, payload);
    });
    try {
      const run = await harness(deviceId, { only: ['status', 'hygiene.no-foreign-topics'] });
      expect(byId(run, 'status.running').status).toBe('pass');
      const foreign = byId(run, 'hygiene.no-foreign-topics');
      expect(foreign.status).toBe('fail');
      expect(foreign.message).toContain(`server/${deviceId}-twin/get_status`);
      expect(foreign.message).toContain("another device's topic");
    } finally {
      await impostor.endAsync();
    }
  });

  it('dropped requests: the affected cases fail with a timeout naming the deadline', async () => {
    const deviceId = await device('drop=0.25,seed=11');
    const run = await harness(deviceId, { deadlineMs: 300, only: ['get_gpio', 'set_gpio', 'get_status'] });
    const failures = failed(run);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThan(cases(run).length);
    for (const result of failures) expect(result.message).toMatch(/no answer within 300 ms/);
    expect(run.exitCode).toBe(1);
  });
});

describe('a device that never answers', () => {
  let silent: MqttClient;
  afterEach(async () => {
    await silent?.endAsync();
  });

  it('gets a timeout per case, exit code 3, and the run ends quickly', async () => {
    silent = await silentDevice(broker.url, 'mute1');
    const startedAt = performance.now();
    const run = await harness('mute1', { deadlineMs: 200 });
    const elapsedMs = performance.now() - startedAt;
    expect(run.exitCode).toBe(3);
    expect(run.report?.verdict).toContain('never answered');
    expect(cases(run).length).toBeGreaterThan(50);
    expect(cases(run).every((result) => result.status === 'fail')).toBe(true);
    expect(byId(run, 'status.running').message).toContain('no answer within 200 ms');
    expect(byId(run, 'uart.echo').message).toContain('not run: the device has not answered any of the 3 requests');
    // Three deadlines, then the rest fail at once.
    expect(elapsedMs).toBeLessThan(3000);
  });

  it('a device that stops answering mid-run is recognised after a few silent cases', async () => {
    const deviceId = await device();
    const run = executeHarness({
      target: { kind: 'mqtt', url: broker.url, deviceId },
      deadlineMs: 200,
      only: ['get_gpio', 'set_gpio'],
      output: captureOutput(),
      tty: false,
    });
    // Stop the device once the run is under way: its first answers arrive, then nothing.
    await new Promise<void>((resolve) => devices[0]!.once('answer', () => resolve()));
    await devices[0]!.stop();
    const result = await run;
    expect(result.exitCode).toBe(1);
    expect(failed(result).at(-1)!.message).toContain('not run: the device stopped answering');
  });
});

describe('setup errors', () => {
  it('an unreachable broker is exit code 2, quickly', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const output = captureOutput();
    const run = await executeHarness({ target: { kind: 'mqtt', url: `mqtt://127.0.0.1:${port}`, deviceId: 'x1' }, output, tty: false });
    expect(run.exitCode).toBe(2);
    expect(output.text()).toMatch(/cannot connect to the broker at mqtt:\/\/127\.0\.0\.1:\d+/);
  });

  it('bad options are exit code 2 with a message', async () => {
    const output = captureOutput();
    expect(await executeHarness({ target: { kind: 'mqtt', url: 'http://example', deviceId: 'x1' }, output, tty: false }).then((run) => run.exitCode)).toBe(2);
    expect(await executeHarness({ target: { kind: 'mqtt', url: broker.url, deviceId: 'x1' }, deadlineMs: -5, output, tty: false }).then((run) => run.exitCode)).toBe(2);
    expect(await executeHarness({ target: { kind: 'mqtt', url: broker.url, deviceId: 'x1' }, formats: ['pdf' as 'json'], output, tty: false }).then((run) => run.exitCode)).toBe(2);
    expect(output.text()).toContain('must start with mqtt:// or mqtts://');
    expect(output.text()).toContain('deadlineMs must be');
    expect(output.text()).toContain('unknown report format(s) pdf');
  });
});

describe('--spawn', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-harness-spawn-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts the device under test, waits for it, runs the cases, and stops its whole process group', async () => {
    const pidFile = join(dir, 'device.pid');
    const script = join(dir, 'device.sh');
    // A shell wrapper around the real device: stopping must reach the grandchild too.
    await writeFile(script, `echo $$ > ${pidFile}\nexec "${process.execPath}" --import tsx ${join(import.meta.dirname, 'spawned-device.ts')}\n`);
    const output = captureOutput();
    const run = await executeHarness({
      target: { kind: 'mqtt', url: broker.url, deviceId: 'spawned1' },
      spawn: { command: `sh ${script}`, cwd: process.cwd() },
      only: ['status', 'gpio'],
      output,
      tty: false,
    });
    expect(output.text()).toContain('started the device under test');
    expect(run.exitCode).toBe(0);
    expect(isRunning(Number(await readFile(pidFile, 'utf8')))).toBe(false);
  });

  it('a spawned command that dies at once ends the run with exit 3 and shows its output', async () => {
    const output = captureOutput();
    const run = await executeHarness({
      target: { kind: 'mqtt', url: broker.url, deviceId: 'spawned2' },
      spawn: 'echo "firmware: cannot open /dev/ttyUSB0" >&2; exit 1',
      deadlineMs: 200,
      output,
      tty: false,
    });
    expect(run.exitCode).toBe(3);
    expect(output.text()).toContain('firmware: cannot open /dev/ttyUSB0');
    expect(run.report?.notes.join('\n')).toContain('firmware: cannot open /dev/ttyUSB0');
  });
});
