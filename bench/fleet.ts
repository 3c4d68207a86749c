/**
 * Fleet capacity on each engine (FLEET_ENGINES, default `embedded,rabbitmq`), with the processes
 * as in real use: the server (`iotcloud up`, via startBenchStack; for RabbitMQ also a project-owned
 * node from `iotcloud broker start`), this benchmark (provisioning, REST commands) and the fleet
 * itself, in a child process of its own so its memory figure holds only the fleet (a provisioning
 * run's garbage in the same heap would make an RSS delta meaningless). Metrics are
 * `fleet_<engine>_<figure>`:
 *
 *   provision_per_s             devices registered through the REST API per second (certificates issued)
 *   prepare_per_s               devices whose TLS context the fleet builds per second, before its ramp
 *   tls_ceiling_handshakes_per_s (embedded) bare mutual-TLS handshakes/s between two processes just
 *                               before the ramp: this machine's ceiling for connects (bench/tls-ceiling.ts)
 *   connects_per_s              devices connected per second, from saved credentials (no provisioning)
 *   connects_of_tls_ceiling_pct (embedded) connects_per_s as a share of that ceiling
 *   memory_per_device_kb        fleet process RSS growth / devices, after GC
 *   *_cpu_per_connect_ms        CPU per connect of the fleet, the server and (RabbitMQ) the node
 *   broker_memory_per_device_kb the RabbitMQ node's memory growth / devices
 *   largest_held_devices        devices that stayed connected for the whole hold (FLEET_HOLD_S)
 *   cmds_per_s                  REST commands/s fanned over the fleet (runLoad, closed loop)
 *
 * Env: FLEET_DEVICES (10000: the fleet; fixed costs make smaller fleets look heavier per
 * device), FLEET_HOLD_S (60), FLEET_RATE (connects/s, 2000), FLEET_CONCURRENCY (connects in flight,
 * 50: more only queues handshakes at the server), FLEET_CMD_TARGETS (devices commanded, 500),
 * FLEET_CMD_S (10), FLEET_CMD_CONCURRENCY (64), FLEET_ENGINES.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openRestTarget, runLoad } from '../harness/index.ts';
import { Fleet, loadFleetCredentials, openFileLimit, openFileWarning, provisionFleet, saveFleetCredentials, type OpenFileLimit } from '../simulators/fleet/index.ts';
import { printMetric, processTreeCpuSeconds } from './report.ts';
import { startBenchStack } from './stack.ts';
import { measureTlsCeiling } from './tls-ceiling.ts';
import { commandRuntime, jemallocLibrary } from '../cli/process/runtime.ts';
import { IOTCLOUD_BIN, profileArgs } from '../testkit/up-process.ts';
import { brokerStatus } from '../broker/index.ts';
import { freePorts } from '../testkit/rabbitmq-platform.ts';

const env = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a number above 0, got ${process.env[name]}`);
  return value;
};

/** What the fleet process reports, one JSON object per line on stdout. */
type ChildReport =
  | { event: 'connected'; devices: number; allocator: string; prepareMs: number; connected: number; rampMs: number | null; failed: number; cpuMs: number; rssDeltaBytes: number; heapDeltaBytes: number; errors: { message: string; count: number }[] }
  | { event: 'held'; heldDevices: number; droppedDevices: number; minConnected: number }
  | { event: 'stopped'; stopMs: number };

if (process.env.FLEET_BENCH_CHILD) await fleetProcess(process.env.FLEET_BENCH_CHILD);
else await main();

type Engine = 'embedded' | 'rabbitmq';

async function main(): Promise<void> {
  const engines = (process.env.FLEET_ENGINES ?? 'embedded,rabbitmq').split(',').map((name) => name.trim());
  for (const engine of engines) {
    if (engine !== 'embedded' && engine !== 'rabbitmq') throw new Error(`FLEET_ENGINES: unknown engine ${JSON.stringify(engine)}; use embedded and/or rabbitmq`);
  }
  for (const engine of engines as Engine[]) await benchEngine(engine);
}

/** A project-owned RabbitMQ node for the run, asking the server (on `apiPort`) who may connect. */
async function startBrokerFor(dataDir: string, apiPort: number): Promise<{ stateDir: string; pid: number; stop(): Promise<void> }> {
  const stateDir = join(dataDir, 'rabbitmq');
  const [amqpsPort, mqttsPort, distPort] = await freePorts(3);
  const args = ['broker', 'start', '--state-dir', stateDir, '--data-dir', dataDir, '--amqps-port', String(amqpsPort), '--mqtts-port', String(mqttsPort), '--dist-port', String(distPort), '--auth-url', `https://127.0.0.1:${apiPort}/api/v1/broker-auth`];
  const started = spawn(process.execPath, [IOTCLOUD_BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] }); // its banner is not a figure
  const [code] = (await once(started, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`iotcloud broker start failed (exit ${code})`);
  const status = await brokerStatus({ stateDir });
  if (!status.state) throw new Error(`the RabbitMQ node in ${stateDir} did not record its state`);
  console.log(`# RabbitMQ ${status.rabbitmqVersion ?? '?'} node ${status.state.nodeName} started for the run`);
  return {
    stateDir,
    pid: status.state.pid,
    async stop() {
      const stopped = spawn(process.execPath, [IOTCLOUD_BIN, 'broker', 'stop', '--state-dir', stateDir], { stdio: 'ignore' });
      await once(stopped, 'exit');
    },
  };
}

async function benchEngine(engine: Engine): Promise<void> {
  const devices = env('FLEET_DEVICES', 10_000);
  const holdS = env('FLEET_HOLD_S', 60);
  const metric = (name: string, value: number, unit: string) => printMetric(`fleet_${engine}_${name}`, value, unit);
  const dataDir = await mkdtemp(join(tmpdir(), `iotcloud-bench-fleet-${engine}-`));
  const certsDir = join(dataDir, 'fleet');
  let broker: Awaited<ReturnType<typeof startBrokerFor>> | undefined;
  let stack: Awaited<ReturnType<typeof startBenchStack>> | undefined;
  try {
    if (engine === 'rabbitmq') {
      const [apiPort] = await freePorts(1);
      broker = await startBrokerFor(dataDir, apiPort!);
      stack = await startBenchStack({ dataDir, apiPort: apiPort!, serviceListener: false, extraArgs: ['--engine', 'rabbitmq', '--broker-state-dir', broker.stateDir] });
    } else {
      stack = await startBenchStack({ dataDir });
    }
    const limits = { server: await openFileLimit(stack.up.serverPid), fleet: await openFileLimit() };
    console.log(`# ${engine} broker: fleet of ${devices} MQTTS devices, hold ${holdS} s; server: ${limitText(limits.server)}; fleet: ${limitText(limits.fleet)}`);
    for (const warning of [openFileWarning(limits.server, devices, 'the server'), openFileWarning(limits.fleet, devices, 'the fleet')]) if (warning) console.log(`# warning: ${warning}`);

    const provisionStart = performance.now();
    const credentials = await provisionFleet({ client: stack.client, count: devices, prefix: 'bench-fleet', concurrency: 16 });
    metric('provision_per_s', devices / ((performance.now() - provisionStart) / 1000), 'devices/s');
    await saveFleetCredentials(certsDir, credentials);
    const ids = credentials.identities.map((identity) => identity.deviceId);

    // The machine's bare TLS handshake rate just before the ramp, to read the connect rate against.
    const tlsCeiling = engine === 'embedded' ? await measureTlsCeiling() : undefined;
    if (tlsCeiling) metric('tls_ceiling_handshakes_per_s', tlsCeiling.handshakesPerSecond, 'handshakes/s');

    // As `iotcloud fleet --devices N` runs: jemalloc when the system has it, heap sized for N (cli/process/runtime.ts).
    const runtime = commandRuntime(['node', 'iotcloud', 'fleet', '--devices', String(devices)], process.env, jemallocLibrary(), process.execArgv);
    if (!runtime) throw new Error('bench:fleet runs the fleet in its own runtime: unset IOTCLOUD_RUNTIME');
    console.log(`# fleet process: ${runtime.nodeArgs.join(' ') || 'the heap size given in NODE_OPTIONS'}`);
    const child = spawn(process.execPath, [...profileArgs(), ...runtime.nodeArgs, '--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...runtime.env, FLEET_BENCH_CHILD: certsDir },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const reports = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async <E extends ChildReport['event']>(event: E): Promise<Extract<ChildReport, { event: E }>> => {
      for (;;) {
        const { value, done } = await reports.next();
        if (done) throw new Error(`the fleet process ended before reporting "${event}"`);
        if (!value.startsWith('{')) continue;
        const report = JSON.parse(value) as ChildReport;
        if (report.event === event) return report as Extract<ChildReport, { event: E }>;
      }
    };
    const cpuBefore = { server: await processTreeCpuSeconds(stack.up.child.pid!), broker: broker ? await processTreeCpuSeconds(broker.pid) : 0 };
    const brokerMemoryBefore = broker ? (await brokerStatus({ stateDir: broker.stateDir })).memoryBytes : undefined;

    const connected = await next('connected');
    const serverCpu = (await processTreeCpuSeconds(stack.up.child.pid!)) - cpuBefore.server;
    metric('prepare_per_s', connected.devices / (connected.prepareMs / 1000), 'devices/s');
    if (connected.rampMs !== null) {
      const connectsPerS = connected.devices / (connected.rampMs / 1000);
      metric('connects_per_s', connectsPerS, 'devices/s');
      if (tlsCeiling) metric('connects_of_tls_ceiling_pct', (100 * connectsPerS) / tlsCeiling.handshakesPerSecond, '%');
    } else console.log(`# not every device connected: ${connected.connected} of ${connected.devices}`);
    console.log(`# fleet process allocator: ${connected.allocator} malloc`);
    metric('memory_per_device_kb', connected.rssDeltaBytes / connected.devices / 1024, 'KB');
    metric('heap_per_device_kb', connected.heapDeltaBytes / connected.devices / 1024, 'KB');
    metric('client_cpu_per_connect_ms', connected.cpuMs / connected.devices, 'ms');
    metric('server_cpu_per_connect_ms', (serverCpu * 1000) / connected.devices, 'ms');
    if (broker) {
      metric('broker_cpu_per_connect_ms', (((await processTreeCpuSeconds(broker.pid)) - cpuBefore.broker) * 1000) / connected.devices, 'ms');
      const brokerMemoryAfter = (await brokerStatus({ stateDir: broker.stateDir })).memoryBytes;
      if (brokerMemoryBefore !== undefined && brokerMemoryAfter !== undefined) metric('broker_memory_per_device_kb', (brokerMemoryAfter - brokerMemoryBefore) / connected.devices / 1024, 'KB');
    }
    metric('connect_failures', connected.failed, 'count');
    for (const error of connected.errors) console.log(`# ${error.count}x ${error.message}`);

    const held = await next('held');
    metric('largest_held_devices', held.heldDevices, 'devices');
    if (held.droppedDevices > 0) console.log(`# ${held.droppedDevices} devices dropped during the hold; fewest connected at once: ${held.minConnected}`);

    const targets = ids.slice(0, env('FLEET_CMD_TARGETS', 500)).map((deviceId) => openRestTarget({ baseUrl: stack!.up.apiUrl, token: stack!.token, deviceId, ca: stack!.up.rootCaPem, maxSockets: 4 }));
    const concurrency = env('FLEET_CMD_CONCURRENCY', 64);
    await runLoad(targets, { mode: 'closed', concurrency, count: targets.length * 2, command: 'get_status' }); // warm-up: every target's HTTPS connection
    const load = await runLoad(targets, { mode: 'closed', concurrency, durationMs: env('FLEET_CMD_S', 10) * 1000, command: 'get_status' });
    metric('cmds_per_s', load.throughputPerSec, 'cmd/s');
    metric('cmd_p50_ms', load.latency.p50Ms, 'ms');
    metric('cmd_p99_ms', load.latency.p99Ms, 'ms');
    metric('cmd_errors', load.deviceErrors + load.timeouts + load.unavailable + load.invalidAnswers, 'count');
    await Promise.all(targets.map((target) => target.close()));

    child.stdin!.end('stop\n');
    const stopped = await next('stopped');
    metric('shutdown_s', stopped.stopMs / 1000, 's');
    await once(child, 'exit');
  } finally {
    await stack?.close();
    await broker?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The fleet process: connect every saved device, report, hold, then stop when told. */
async function fleetProcess(certsDir: string): Promise<void> {
  const report = (line: ChildReport) => process.stdout.write(`${JSON.stringify(line)}\n`);
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const holdMs = env('FLEET_HOLD_S', 60) * 1000;
  await settle();
  const before = process.memoryUsage();

  const saved = await loadFleetCredentials(certsDir);
  const devices = saved.identities.length;
  const fleet = new Fleet({ size: devices, url: saved.mqttUrl!, caPem: saved.caPem, rate: env('FLEET_RATE', 2000), concurrency: env('FLEET_CONCURRENCY', 50) });
  const allConnected = new Promise<boolean>((resolve) => {
    fleet.once('allConnected', () => resolve(true));
    setTimeout(() => resolve(false), 60_000 + devices * 20).unref(); // >= 50 connects/s, or report what made it
  });
  // Synchronously, so every TLS context is built before the first connection starts: the ramp
  // then measures connections, and preparation is reported on its own.
  const prepareStart = performance.now();
  for (const identity of saved.identities) fleet.add(identity);
  const prepareMs = performance.now() - prepareStart;
  const cpuBefore = process.cpuUsage();
  saved.identities.length = 0; // the fleet holds what it needs; the loaded list must not count twice
  await allConnected;
  const cpu = process.cpuUsage(cpuBefore);
  const progress = fleet.progress();
  await settle();
  const after = process.memoryUsage();
  report({
    event: 'connected', devices, allocator: progress.allocator, prepareMs, connected: progress.connected, rampMs: fleet.rampMs ?? null, failed: progress.failed, cpuMs: (cpu.user + cpu.system) / 1000,
    rssDeltaBytes: after.rss - before.rss, heapDeltaBytes: after.heapUsed - before.heapUsed, errors: progress.errors,
  });

  // The hold: a timed window is the measurement itself. A device counts as held when it was
  // connected at the start and never lost its connection during the window.
  const dropped = new Set<number>();
  let minConnected = fleet.connected;
  const onDrop = (member: { index: number }) => {
    dropped.add(member.index);
    minConnected = Math.min(minConnected, fleet.connected);
  };
  fleet.on('disconnected', onDrop);
  const connectedAtStart = fleet.connected;
  await new Promise((resolve) => setTimeout(resolve, holdMs));
  fleet.off('disconnected', onDrop);
  report({ event: 'held', heldDevices: connectedAtStart - dropped.size, droppedDevices: dropped.size, minConnected });

  await once(createInterface({ input: process.stdin }), 'line');
  const stopStart = performance.now();
  await fleet.stop();
  report({ event: 'stopped', stopMs: performance.now() - stopStart });
  process.exit(0);
}

function limitText(limit: OpenFileLimit | undefined): string {
  return limit ? `open-file limit ${limit.soft} (hard ${limit.hard})` : 'open-file limit unknown';
}
