/**
 * The FT900 serial bridge end to end, with nothing simulated but the board's hardware:
 *
 *   REST client -> real server (HTTPS, embedded MQTTS broker) -> bridge (as the device, mutual
 *   TLS) -> real ptys (socat) and a tap -> ft900-host (the C protocol core on a simulated board)
 *
 * Then the line and both ends misbehave: noise, frames cut and corrupted in flight, the board
 * killed and restarted, reset_device, the cable pulled and plugged back, the server restarted.
 * Every wait is on an event (or an HTTP answer), never on a sleep.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startBridge, type Bridge } from '../../ft900/bridge/index.ts';
import { executeHarness } from '../../harness/index.ts';
import { RestError, type DeviceRegistration, type RestClient } from '../../rest-client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { captureOutput } from '../harness/fixtures.ts';
import { BoardProcess, buildHost, nextEvent as next, SerialLine } from '../../testkit/serial-line.ts';


/** A command through REST that must time out: the server's 504. */
async function expectTimeout(client: RestClient, deviceId: string, command: string, params: unknown, timeoutMs: number): Promise<void> {
  const error = await client.command(deviceId, command, params, timeoutMs).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(RestError);
  expect((error as RestError).status).toBe(504);
}

const logger = pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' });
const userName = `bridge${process.pid}`;

describe('ft900 serial bridge against a real server', () => {
  let dir: string;
  let dataDir: string;
  let t: TestServer;
  let client: RestClient;
  let device: DeviceRegistration;
  let line: SerialLine;
  let board: BoardProcess;
  let bridge: Bridge;
  const command = (name: string, params: unknown = {}) => client.command(device.deviceId, name, params);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-bridge-'));
    dataDir = join(dir, 'server');
    await buildHost();
    t = await startTestServer({}, dataDir);
    client = await t.user(userName);
    device = await client.registerDevice('ft900 on a serial line');
    line = await SerialLine.start({ dir });
    board = BoardProcess.start(line.boardPath, device.deviceId);
    bridge = startBridge({
      port: line.bridgePath,
      deviceId: device.deviceId,
      url: device.mqttUrl,
      credentials: { caPem: device.rootCa, certPem: device.certificate, keyPem: device.privateKey },
      logger,
      requestTimeoutMs: 1000,
      pingIntervalMs: 300,
      pongTimeoutMs: 300,
      brokerBackoff: { initialMs: 100, maxMs: 1000 },
      serialBackoff: { initialMs: 50, maxMs: 500 },
    });
    const up = [next(bridge, 'broker', (isUp) => isUp), next(bridge, 'board', (alive) => alive)];
    await Promise.all(up);
  });

  afterAll(async () => {
    await bridge?.close();
    await board?.stop();
    await line?.stop();
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('relays REST commands to the board and its answers back', async () => {
    expect((await command('get_status')).result).toEqual({ status: 'running' });
    expect((await command('set_gpio', { number: 18, value: 1 })).result).toEqual({ number: 18, value: 1 });
    expect((await command('get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 1 });
    expect((await command('set_rtc', { value: 1_800_000_000 })).result).toEqual({ value: 1_800_000_000 });
    expect((await command('get_rtc')).result.value).toBeGreaterThanOrEqual(1_800_000_000);
    expect((await command('get_mac')).result.value).toMatch(/^02:00(:[0-9a-f]{2}){4}$/);
    expect((await command('get_ip')).result).toEqual({ value: '192.168.1.20' });
    expect((await command('write_uart', { data: 'hello ft900 \u00e9 } ~ \u007e' })).result).toEqual({ data: 'hello ft900 \u00e9 } ~ \u007e' });
    // The device is online as far as the server can tell: the bridge is its connection.
    expect((await client.listDevices()).devices).toMatchObject([{ deviceId: device.deviceId, online: true }]);
    expect(bridge.counters).toMatchObject({ timeouts: 0, rejected: 0, dropped: 0, lost: 0, crcErrors: 0, malformed: 0 });
    expect(bridge.counters.responses).toBeGreaterThanOrEqual(8);
  });

  it('passes the conformance suite through the server (REST target)', async () => {
    const output = captureOutput();
    const run = await executeHarness({
      target: { kind: 'rest', baseUrl: t.server.apiUrl, token: client.token!, deviceId: device.deviceId, ca: t.server.rootCaPem },
      output,
      tty: false,
    });
    const results = run.report?.conformance?.cases ?? [];
    const failed = results.filter((r) => r.status === 'fail').map((r) => `${r.id}${r.required ? '' : ' (optional)'}: ${r.message}`);
    const counts = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    console.log(`conformance through the bridge (REST): ${JSON.stringify(counts)}`);
    expect(failed).toEqual([]);
    expect(run.exitCode).toBe(0);
    // Cases that need raw payloads are not applicable through REST; conformance-mqtt.test.ts runs them.
    expect(counts.pass).toBeGreaterThanOrEqual(25);
  }, 60_000);

  it('survives noise on the line in both directions', async () => {
    await command('set_gpio', { number: 18, value: 1 });
    const before = bridge.counters;
    // Flags, escapes, an abort (7D 7E), a half frame and a bogus length: every kind of junk.
    const garbage = Buffer.from([0x00, 0xff, 0x7e, 0x13, 0x7d, 0x7e, 0x01, 0x00, 0x05, 0x41, 0x42, 0x7d, 0x5e, 0x99, 0x7e, 0x02, 0xff, 0xff, 0x41, 0x7d]);
    line.inject('toBridge', garbage);
    line.inject('toBoard', garbage);
    expect((await command('get_status')).result).toEqual({ status: 'running' });
    line.inject('toBridge', Buffer.alloc(5000, 0x55)); // a long burst, e.g. a baud-rate mismatch
    expect((await command('get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 1 });
    const after = bridge.counters;
    expect(after.crcErrors + after.malformed + after.overlong).toBeGreaterThan(before.crcErrors + before.malformed + before.overlong);
    expect(after.timeouts).toBe(before.timeouts);
  });

  it('loses only the request whose frame was cut or corrupted, in either direction', async () => {
    const cut = (frame: Buffer) => frame.subarray(0, Math.floor(frame.length / 2));
    const flip = (frame: Buffer) => {
      const copy = Buffer.from(frame);
      const at = Math.floor(copy.length / 2);
      copy[at] = copy[at] === 0x30 ? 0x31 : 0x30; // never a flag or an escape: the frame stays whole, its CRC breaks
      return copy;
    };
    const has = (text: string) => (frame: Buffer) => frame.includes(text);
    const before = bridge.counters;

    line.mangleNext('toBridge', cut, has('/set_gpio'));
    await expectTimeout(client, device.deviceId, 'set_gpio', { number: 7, value: 1 }, 700);
    expect((await command('get_status')).result).toEqual({ status: 'running' });

    line.mangleNext('toBoard', cut, has('/set_gpio'));
    await expectTimeout(client, device.deviceId, 'set_gpio', { number: 8, value: 1 }, 700);
    expect((await command('get_status')).result).toEqual({ status: 'running' });

    line.mangleNext('toBridge', flip, has('/get_rtc'));
    await expectTimeout(client, device.deviceId, 'get_rtc', {}, 700);
    expect((await command('get_status')).result).toEqual({ status: 'running' });

    const after = bridge.counters;
    // The board ran the first set_gpio (only its answer was cut), not the second (its request was).
    expect((await command('get_gpio', { number: 7 })).result).toEqual({ number: 7, value: 1 });
    expect((await command('get_gpio', { number: 8 })).result).toEqual({ number: 8, value: 0 });
    expect(after.timeouts - before.timeouts).toBe(3);
    expect(after.crcErrors + after.malformed - before.crcErrors - before.malformed).toBeGreaterThanOrEqual(2);
  });

  it('carries on after the board is killed and started again on the same line', async () => {
    await command('set_gpio', { number: 5, value: 1 });
    const silent = next(bridge, 'board', (alive) => !alive);
    await board.stop('SIGKILL'); // a power cut: no goodbye
    await silent; // a PING went unanswered
    await expectTimeout(client, device.deviceId, 'get_status', {}, 300);

    const hello = next(bridge, 'hello');
    board = BoardProcess.start(line.boardPath, device.deviceId);
    expect(await hello).toEqual([device.deviceId]);
    expect((await command('get_status')).result).toEqual({ status: 'running' });
    expect((await command('get_gpio', { number: 5 })).result).toEqual({ number: 5, value: 0 }); // power-on state
    expect(bridge.counters.missedPongs).toBeGreaterThanOrEqual(1);
  });

  it('reset_device: the board answers restarting, says HELLO, and is back at power-on state', async () => {
    await command('set_gpio', { number: 6, value: 1 });
    const hellos = bridge.counters.hellos;
    const hello = next(bridge, 'hello');
    expect((await command('reset_device')).result).toEqual({ status: 'restarting' });
    await hello;
    expect(bridge.counters.hellos).toBe(hellos + 1);
    expect((await command('get_gpio', { number: 6 })).result).toEqual({ number: 6, value: 0 });
  });

  it('reopens the serial port after the cable is pulled and plugged back in', async () => {
    await command('set_gpio', { number: 18, value: 1 });
    const closed = next(bridge, 'serial', (open) => !open);
    await line.unplug();
    await closed;
    expect(bridge.state.serialOpen).toBe(false);
    // Requests that arrive meanwhile wait (briefly) for the line rather than vanish.
    const waiting = command('get_gpio', { number: 18 });
    const reopened = next(bridge, 'serial', (open) => open);
    await line.plug();
    await reopened;
    expect((await waiting).result).toEqual({ number: 18, value: 1 });
    expect(bridge.counters.serialReopens).toBe(1);
  });

  it('reconnects to the broker when the server restarts', async () => {
    const apiPort = Number(new URL(t.server.apiUrl).port);
    const mqttPort = Number(new URL(t.server.mqttUrl).port);
    await command('set_gpio', { number: 18, value: 1 });
    const down = next(bridge, 'broker', (isUp) => !isUp);
    await t.close();
    await down;
    const up = next(bridge, 'broker', (isUp) => isUp);
    t = await startTestServer({ apiPort, mqttPort }, dataDir);
    await up;
    client = t.anonymous();
    await client.login(userName, 'correct horse battery');
    expect((await command('get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 1 }); // the board kept its state
    expect(bridge.counters.brokerReconnects).toBe(1);
  });
});
