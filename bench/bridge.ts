/**
 * What the FT900 serial bridge adds to a command's round trip, against a simulated device that
 * speaks MQTT itself. Both go through the same path: REST client -> server (`iotcloud up` in its
 * own process) -> MQTTS; the bridged one then crosses a serial line to ft900-host and back.
 *
 * A pty has no line rate, so the line runs through a tap that releases bytes no faster than a
 * UART at the given baud would (8N1: 10 bits a byte), in both directions. The tap's timers have
 * about 1 ms resolution, so at 921600 baud (a 60-byte frame is 0.65 ms) the emulation rounds up;
 * the theoretical wire time per exchange is printed next to each measurement for that reason.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startBridge, wireTimeMs, type Bridge } from '../ft900/bridge/index.ts';
import { openRestTarget } from '../harness/targets/index.ts';
import { runLoad, type LoadSummary } from '../harness/load/run-load.ts';
import { BoardProcess, buildHost, SerialLine } from '../testkit/serial-line.ts';
import { printMetric } from './report.ts';
import { startBenchStack, type BenchStack } from './stack.ts';

const COUNT = 400;
const WARMUP = 50;
const command = { command: 'get_gpio', params: { number: 1 } };

async function measure(stack: BenchStack, deviceId: string): Promise<LoadSummary> {
  const target = openRestTarget({ baseUrl: stack.up.apiUrl, token: stack.token, deviceId, ca: stack.up.rootCaPem });
  try {
    await runLoad([target], { mode: 'closed', concurrency: 1, count: WARMUP, ...command });
    const run = await runLoad([target], { mode: 'closed', concurrency: 1, count: COUNT, ...command });
    if (run.ok !== COUNT) throw new Error(`${COUNT - run.ok} of ${COUNT} commands failed (${run.timeouts} timeouts, ${run.deviceErrors} errors)`);
    return run;
  } finally {
    await target.close();
  }
}

/** A registered device on ft900-host behind the bridge, the line running at `baudRate` (undefined: pty speed). */
async function measureBridged(stack: BenchStack, dir: string, baudRate: number | undefined): Promise<{ run: LoadSummary; bytesPerExchange: number }> {
  const registration = await stack.client.registerDevice(`bridged-${baudRate ?? 'pty'}`);
  const line = await SerialLine.start({ dir: await mkdtemp(join(dir, 'line-')), ...(baudRate ? { baudRate } : {}) });
  const board = BoardProcess.start(line.boardPath, registration.deviceId);
  let bridge: Bridge | undefined;
  try {
    bridge = startBridge({
      port: line.bridgePath,
      baudRate: baudRate ?? 115200,
      deviceId: registration.deviceId,
      url: registration.mqttUrl,
      credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey },
      logger: pino({ level: 'warn' }),
      pingIntervalMs: 0, // nothing on the line but the commands
    });
    const b = bridge;
    await Promise.all([
      new Promise((resolve) => b.on('broker', (up) => up && resolve(up))),
      new Promise((resolve) => b.on('board', (alive) => alive && resolve(alive))),
    ]);
    const before = line.bytes.toBoard + line.bytes.toBridge;
    const run = await measure(stack, registration.deviceId);
    const bytesPerExchange = (line.bytes.toBoard + line.bytes.toBridge - before) / COUNT;
    return { run, bytesPerExchange };
  } finally {
    await bridge?.close();
    await board.stop();
    await line.stop();
  }
}

await buildHost();
const dir = await mkdtemp(join(tmpdir(), 'iotcloud-bench-bridge-'));
const stack = await startBenchStack();
try {
  const [simulated] = await stack.registerDevices(1);
  const direct = await measure(stack, simulated!.registration.deviceId);
  printMetric('direct_mqtt_device_p50_ms', direct.latency.p50Ms, 'ms');
  printMetric('direct_mqtt_device_p99_ms', direct.latency.p99Ms, 'ms');

  const pty = await measureBridged(stack, dir, undefined);
  printMetric('bridge_pty_p50_ms', pty.run.latency.p50Ms, 'ms');
  printMetric('bridge_pty_p99_ms', pty.run.latency.p99Ms, 'ms');
  printMetric('bridge_pty_added_p50_ms', pty.run.latency.p50Ms - direct.latency.p50Ms, 'ms');
  printMetric('bridge_wire_bytes_per_command', pty.bytesPerExchange, 'bytes');

  for (const baudRate of [115200, 921600]) {
    const paced = await measureBridged(stack, dir, baudRate);
    printMetric(`bridge_${baudRate}_p50_ms`, paced.run.latency.p50Ms, 'ms');
    printMetric(`bridge_${baudRate}_p99_ms`, paced.run.latency.p99Ms, 'ms');
    printMetric(`bridge_${baudRate}_added_p50_ms`, paced.run.latency.p50Ms - direct.latency.p50Ms, 'ms');
    // Request and answer frames on the wire, one after the other: the floor a real UART imposes.
    printMetric(`bridge_${baudRate}_wire_time_theoretical_ms`, wireTimeMs(paced.bytesPerExchange, baudRate), 'ms');
  }
} finally {
  await stack.close();
  await rm(dir, { recursive: true, force: true });
}
