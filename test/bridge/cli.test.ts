/**
 * `iotcloud bridge`: flags become bridge options, wrong ones are usage errors naming the flag's
 * problem, and with the files `iotcloud register --out DIR` writes, a board on a serial line
 * answers REST commands until the bridge is stopped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import pino from 'pino';
import { runBridge } from '../../ft900/bridge/index.ts';
import { bridgeCommand } from '../../cli/commands/bridge.ts';
import type { Bridge } from '../../ft900/bridge/index.ts';
import { UsageError } from '../../cli/usage-error.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { BoardProcess, buildHost, PtyPair } from '../../testkit/serial-line.ts';

const parse = async (args: string[]) => yargs().command(bridgeCommand).strict().fail(false).parseAsync(['bridge', ...args]);

describe('iotcloud bridge', () => {
  let dir: string;
  let t: TestServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-bridge-cli-'));
    await buildHost();
    t = await startTestServer(); // the slow part (a fresh CA and database): a hook, not the test
  });

  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses wrong flags with usage errors', async () => {
    const plain = ['--url', 'mqtt://127.0.0.1:1', '--plaintext'];
    await expect(parse(['--port', 'ttyUSB0', '--device', 'dev1', ...plain])).rejects.toThrow(new UsageError('serial port "ttyUSB0" is not a device path; use e.g. /dev/ttyUSB0, /dev/ttyACM0 or COM3'));
    await expect(parse(['--port', '/dev/ttyUSB0', '--device', 'dev1', '--baud', '11520', ...plain])).rejects.toThrow(/did you mean 115200\?/);
    await expect(parse(['--port', '/dev/ttyUSB0', '--device', 'a b', ...plain])).rejects.toThrow(/device id "a b" is not valid/);
    await expect(parse(['--port', '/dev/ttyUSB0', '--device', 'dev1', '--url', 'mqtt://127.0.0.1:1'])).rejects.toThrow(UsageError);
    await expect(parse(['--port', '/dev/ttyUSB0', '--device', 'dev1', '--dir', '/nonexistent'])).rejects.toThrow(/cannot read the CA certificate \/nonexistent\/rootca\.pem/);
    await expect(parse(['--device', 'dev1'])).rejects.toThrow(/Missing required argument: port/);
  });

  it('runs with the registration files from DIR until stopped, and reports its counters', async () => {
    const pair = await PtyPair.start(join(dir, 'board'), join(dir, 'bridge'));
    let board: BoardProcess | undefined;
    const stop = new AbortController();
    try {
      const client = await t.user();
      const device = await client.registerDevice('cli board');
      await writeFile(join(dir, 'rootca.pem'), device.rootCa);
      await writeFile(join(dir, `${device.deviceId}_cert.pem`), device.certificate);
      await writeFile(join(dir, `${device.deviceId}_pkey.pem`), device.privateKey);
      board = BoardProcess.start(pair.a, device.deviceId);
      let started!: (bridge: Bridge) => void;
      const ready = new Promise<Bridge>((resolve) => (started = resolve)).then((bridge) =>
        Promise.all([
          new Promise((resolve) => bridge.on('broker', (up) => up && resolve(up))),
          new Promise((resolve) => bridge.on('board', (alive) => alive && resolve(alive))),
        ]),
      );
      const running = runBridge({
        port: pair.b,
        deviceId: device.deviceId,
        url: device.mqttUrl,
        credentials: { caFile: join(dir, 'rootca.pem'), certFile: join(dir, `${device.deviceId}_cert.pem`), keyFile: join(dir, `${device.deviceId}_pkey.pem`) },
        logger: pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' }),
        signal: stop.signal,
        onStarted: (bridge) => started(bridge),
      });
      await ready;
      expect((await client.command(device.deviceId, 'get_status')).result).toEqual({ status: 'running' });
      stop.abort();
      const counters = await running;
      expect(counters).toMatchObject({ requests: 1, responses: 1, timeouts: 0 });
    } finally {
      stop.abort();
      await board?.stop();
      await pair.stop();
    }
  });
});
