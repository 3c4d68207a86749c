/** The load generator against simulated devices on a real broker: counts, percentiles, per-second figures. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import type { SimulatedDevice } from '../../simulators/index.ts';
import { executeHarness, LoadOptionsError, openMqttTarget, openMqttTargets, runLoad, type DeviceTarget, type LoadSummary } from '../../harness/index.ts';
import { captureOutput, silentDevice, simulatedDevice, startBroker, type TestBroker } from './fixtures.ts';

let broker: TestBroker;
const devices: SimulatedDevice[] = [];
const targets: DeviceTarget[] = [];

beforeAll(async () => {
  broker = await startBroker();
});

afterEach(async () => {
  for (const target of targets.splice(0)) await target.close();
  for (const device of devices.splice(0)) await device.stop();
});

afterAll(async () => {
  await broker.close();
});

async function deviceAndTarget(deviceId: string, profile = ''): Promise<DeviceTarget> {
  devices.push(await simulatedDevice(broker.url, deviceId, profile));
  const target = await openMqttTarget({ url: broker.url, deviceId });
  targets.push(target);
  return target;
}

function expectSanePercentiles(summary: LoadSummary): void {
  const { latency } = summary;
  expect(latency.minMs).toBeGreaterThan(0);
  expect(latency.minMs).toBeLessThanOrEqual(latency.p50Ms);
  expect(latency.p50Ms).toBeLessThanOrEqual(latency.p90Ms);
  expect(latency.p90Ms).toBeLessThanOrEqual(latency.p99Ms);
  expect(latency.p99Ms).toBeLessThanOrEqual(latency.p999Ms);
  // The HDR histogram keeps 3 significant digits: a percentile may round a hair above the max.
  expect(latency.p999Ms).toBeLessThanOrEqual(latency.maxMs * 1.001);
  expect(latency.bins.reduce((sum, bin) => sum + bin.count, 0)).toBe(latency.count);
}

describe('closed loop', () => {
  it('N commands give N latency samples and sane percentiles', async () => {
    const target = await deviceAndTarget('load1');
    const summary = await runLoad([target], { mode: 'closed', count: 300, concurrency: 4, command: 'get_gpio', params: { number: 3 } });
    console.log(`closed loop, 300 x get_gpio, concurrency 4: ${summary.throughputPerSec}/s, p50 ${summary.latency.p50Ms} ms, p99 ${summary.latency.p99Ms} ms, max ${summary.latency.maxMs} ms`);
    expect(summary.sent).toBe(300);
    expect(summary.ok).toBe(300);
    expect(summary.latency.count).toBe(300);
    expect(summary.deviceErrors + summary.timeouts + summary.unavailable + summary.invalidAnswers).toBe(0);
    expectSanePercentiles(summary);
    expect(summary.latency.maxMs).toBeLessThan(5000);
    expect(summary.perSecond.reduce((sum, second) => sum + second.sent, 0)).toBe(300);
    expect(summary.perSecond.reduce((sum, second) => sum + second.ok, 0)).toBe(300);
    expect(summary.throughputPerSec).toBeGreaterThan(0);
    expect(devices[0]!.counters.received).toBe(300);
  });

  it('latency reflects the device\'s delay', async () => {
    const target = await deviceAndTarget('load2', 'delay=20');
    const summary = await runLoad([target], { mode: 'closed', count: 30, concurrency: 2 });
    expect(summary.ok).toBe(30);
    expect(summary.latency.minMs).toBeGreaterThanOrEqual(19.9);
    expect(summary.latency.p50Ms).toBeLessThan(200);
    expectSanePercentiles(summary);
  });

  it('stops after the duration when no count is given', async () => {
    const target = await deviceAndTarget('load3');
    const startedAt = performance.now();
    const summary = await runLoad([target], { mode: 'closed', durationMs: 400, concurrency: 2 });
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(399);
    expect(elapsed).toBeLessThan(2000);
    expect(summary.ok).toBe(summary.sent);
    expect(summary.latency.count).toBe(summary.ok);
  });

  it('counts timeouts, and records no latency for them', async () => {
    let silent: MqttClient | undefined;
    try {
      silent = await silentDevice(broker.url, 'mute-load');
      const target = await openMqttTarget({ url: broker.url, deviceId: 'mute-load' });
      targets.push(target);
      const summary = await runLoad([target], { mode: 'closed', count: 6, concurrency: 3, timeoutMs: 100 });
      expect(summary.timeouts).toBe(6);
      expect(summary.ok).toBe(0);
      expect(summary.latency.count).toBe(0);
      expect(summary.perSecond.reduce((sum, second) => sum + second.errors, 0)).toBe(6);
    } finally {
      await silent?.endAsync();
    }
  });
});

describe('fixed rate', () => {
  it('sends on schedule, spread over several devices', async () => {
    const ids = ['fleet0', 'fleet1', 'fleet2'];
    for (const id of ids) devices.push(await simulatedDevice(broker.url, id));
    const fleet = await openMqttTargets({ url: broker.url }, ids);
    targets.push(...fleet);
    const seconds: number[] = [];
    const summary = await runLoad(fleet, { mode: 'rate', rate: 300, durationMs: 1000, onSecond: (stats) => seconds.push(stats.second) });
    console.log(`fixed rate 300/s over 3 devices for 1 s: sent ${summary.sent}, ok ${summary.ok}, p50 ${summary.latency.p50Ms} ms, p99 ${summary.latency.p99Ms} ms`);
    expect(summary.sent).toBeGreaterThanOrEqual(295);
    expect(summary.sent).toBeLessThanOrEqual(301);
    expect(summary.ok).toBe(summary.sent);
    expect(summary.skipped).toBe(0);
    expect(summary.devices).toBe(3);
    expectSanePercentiles(summary);
    for (const device of devices) expect(Math.abs(device.counters.received - summary.sent / 3)).toBeLessThanOrEqual(1);
    expect(seconds[0]).toBe(0);
  });

  it('a count stops a fixed-rate run too', async () => {
    const target = await deviceAndTarget('load4');
    const summary = await runLoad([target], { mode: 'rate', rate: 500, count: 50 });
    expect(summary.sent).toBe(50);
    expect(summary.ok).toBe(50);
    expect(summary.rate).toBe(500);
  });
});

describe('options', () => {
  it('refuses options that cannot run', async () => {
    const target = await deviceAndTarget('load5');
    await expect(runLoad([target], { mode: 'closed' })).rejects.toThrow(LoadOptionsError);
    await expect(runLoad([target], { mode: 'rate', count: 5 })).rejects.toThrow(/rate above 0/);
    await expect(runLoad([target], { mode: 'closed', count: 5, concurrency: 0 })).rejects.toThrow(/concurrency/);
    await expect(runLoad([], { mode: 'closed', count: 5 })).rejects.toThrow(/at least one device/);
  });
});

describe('through the harness entry point', () => {
  it('a load-only run over several devices reports its figures and exits 0', async () => {
    for (const id of ['cli0', 'cli1']) devices.push(await simulatedDevice(broker.url, id));
    const output = captureOutput();
    const run = await executeHarness({
      target: { kind: 'mqtt', url: broker.url, deviceId: 'cli0' },
      conformance: false,
      load: { mode: 'closed', count: 40, concurrency: 2, deviceIds: ['cli0', 'cli1'] },
      output,
      tty: false,
    });
    expect(run.exitCode).toBe(0);
    expect(run.report?.conformance).toBeUndefined();
    expect(run.report?.load).toMatchObject({ sent: 40, ok: 40, devices: 2 });
    expect(devices.map((device) => device.counters.received)).toEqual([20, 20]);
    expect(output.text()).toMatch(/load latency: p50 [\d.]+ ms/);
  });

  it('a missed threshold fails the run with exit 4 and names the flag; kept thresholds pass', async () => {
    devices.push(await simulatedDevice(broker.url, 'slow0', 'delay=30'));
    const slow = captureOutput();
    const missed = await executeHarness({
      target: { kind: 'mqtt', url: broker.url, deviceId: 'slow0' },
      conformance: false,
      load: { mode: 'closed', count: 20, concurrency: 4 },
      thresholds: { maxP99Ms: 5, maxErrorRatePct: 0 },
      output: slow,
      tty: false,
    });
    expect(missed.exitCode).toBe(4);
    expect(missed.report?.verdict).toMatch(/^load threshold missed: p99 [\d.]+ ms above --max-p99 5 ms$/);
    expect(missed.report?.thresholds?.map((check) => [check.name, check.passed])).toEqual([
      ['max-p99', false],
      ['max-error-rate', true],
    ]);
    expect(slow.text()).toContain('exit 4: load threshold missed');

    const kept = await executeHarness({
      target: { kind: 'mqtt', url: broker.url, deviceId: 'slow0' },
      conformance: false,
      load: { mode: 'closed', count: 20, concurrency: 4 },
      thresholds: { maxP99Ms: 60_000, maxErrorRatePct: 0, minThroughputPerSec: 0.001 },
      output: captureOutput(),
      tty: false,
    });
    expect(kept.exitCode).toBe(0);
    expect(kept.report?.thresholds?.every((check) => check.passed)).toBe(true);
  });

  it('an error rate above --max-error-rate fails the run even when every answer was fast', async () => {
    devices.push(await simulatedDevice(broker.url, 'lossy0', 'drop=1'), await simulatedDevice(broker.url, 'good0'));
    const run = await executeHarness({
      target: { kind: 'mqtt', url: broker.url, deviceId: 'lossy0' },
      conformance: false,
      deadlineMs: 300,
      load: { mode: 'closed', count: 8, concurrency: 8, deviceIds: ['lossy0', 'good0'] },
      thresholds: { maxErrorRatePct: 10 },
      output: captureOutput(),
      tty: false,
    });
    expect(run.report?.load?.ok).toBeGreaterThan(0);
    expect(run.exitCode).toBe(4);
    expect(run.report?.verdict).toMatch(/error rate [\d.]+ % above --max-error-rate 10 %/);
  });

  it('bad load options are a setup error before anything connects', async () => {
    const output = captureOutput();
    const run = await executeHarness({ target: { kind: 'mqtt', url: 'mqtt://127.0.0.1:1', deviceId: 'x' }, load: { mode: 'rate', count: 10 }, output, tty: false });
    expect(run.exitCode).toBe(2);
    expect(output.text()).toContain('fixed-rate load needs a rate above 0 per second');
  });
});
