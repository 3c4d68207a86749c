/**
 * The whole conformance suite, raw cases included, against ft900-host behind the bridge: the
 * harness plays the server straight on a broker (an aedes broker on loopback, plain MQTT, since
 * the embedded broker of the real server only lets devices in). This is where the bridge's own
 * duties show: exactly one answer per request, only on the device's answer topics, and a request
 * too large for one frame answered PAYLOAD_TOO_LARGE on the board's behalf instead of truncated.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { startBridge, type Bridge } from '../../ft900/bridge/index.ts';
import { executeHarness } from '../../harness/index.ts';
import { captureOutput, startBroker, type TestBroker } from '../harness/fixtures.ts';
import { BoardProcess, buildHost, SerialLine } from '../../testkit/serial-line.ts';

const deviceId = 'ft900bridged1';

describe('conformance suite over MQTT through the bridge', () => {
  let dir: string;
  let broker: TestBroker;
  let line: SerialLine;
  let board: BoardProcess;
  let bridge: Bridge;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-bridge-mqtt-'));
    await buildHost();
    broker = await startBroker();
    line = await SerialLine.start({ dir });
    board = BoardProcess.start(line.boardPath, deviceId);
    bridge = startBridge({
      port: line.bridgePath,
      deviceId,
      url: broker.url,
      allowPlaintext: true,
      logger: pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' }),
    });
    await Promise.all([
      new Promise<void>((resolve) => bridge.on('broker', (up) => up && resolve())),
      new Promise<void>((resolve) => bridge.on('board', (alive) => alive && resolve())),
    ]);
  });

  afterAll(async () => {
    await bridge?.close();
    await board?.stop();
    await line?.stop();
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes every case, raw payloads included', async () => {
    const output = captureOutput();
    const startedAt = performance.now();
    const run = await executeHarness({ target: { kind: 'mqtt', url: broker.url, deviceId }, deadlineMs: 2000, output, tty: false });
    const results = run.report?.conformance?.cases ?? [];
    const counts = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    console.log(`conformance through the bridge (MQTT): ${JSON.stringify(counts)} in ${Math.round(performance.now() - startedAt)} ms`);
    const notPassed = results.filter((r) => r.status !== 'pass').map((r) => `${r.id}${r.required ? '' : ' (optional)'} ${r.status}: ${r.message}`);
    expect(notPassed).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(results.length).toBeGreaterThan(50);
    // hygiene.oversized did not fit a frame: the bridge answered it, the board never saw it.
    expect(bridge.counters.oversized).toBe(1);
    expect(bridge.counters).toMatchObject({ rejected: 0, dropped: 0, timeouts: 0, crcErrors: 0 });
  }, 60_000);

  it('forwards a payload between 4096 bytes and the frame limit for the board to refuse itself', async () => {
    const server: MqttClient = await mqtt.connectAsync(broker.url, { clientId: 'test-server', reconnectPeriod: 0 });
    try {
      await server.subscribeAsync(`server/${deviceId}/+`, { qos: 1 });
      const answer = new Promise<[string, Buffer]>((resolve) => server.once('message', (topic, payload) => resolve([topic, payload])));
      const payload = JSON.stringify({ cid: 'big1', data: 'x'.repeat(4100) }); // over 4096, fits a frame
      const framesOut = bridge.counters.framesOut;
      await server.publishAsync(`${deviceId}/write_uart`, payload, { qos: 1 });
      const [topic, body] = await answer;
      expect(topic).toBe(`server/${deviceId}/write_uart`);
      // The board's own answer: PAYLOAD_TOO_LARGE, not read, so no cid.
      expect(JSON.parse(body.toString())).toEqual({ error: { code: 6, name: 'PAYLOAD_TOO_LARGE', message: `payload is ${Buffer.byteLength(payload)} bytes, the limit is 4096` } });
      expect(bridge.counters.framesOut).toBeGreaterThan(framesOut);
      expect(bridge.counters.oversized).toBe(1); // unchanged: this one went to the board
    } finally {
      await server.endAsync();
    }
  });
});
