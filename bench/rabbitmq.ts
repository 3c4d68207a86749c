/**
 * The RabbitMQ engine under load, on a project-owned node started for the run: node boot time,
 * command round trip through RabbitMQ to a simulated MQTTS device (and the same through the
 * embedded aedes engine, for comparison in the same run), pipelined commands per second, and how
 * fast devices connect when every connect is authorised over HTTP, cold and with the auth cache warm.
 *
 *   BENCH_DEVICES=500 (devices for each connect-rate round: MQTTS, then AMQPS 0-9-1)   BENCH_SECONDS=3 (per throughput run)
 */
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import type { CommandOutcome } from '../firmware-protocol/index.ts';
import type { DeviceBus } from '../server/bus/device-bus.ts';
import { startEmbeddedBus } from '../server/bus/embedded.ts';
import { startDevice, type SimulatedDevice } from '../simulators/device.ts';
import type { Credentials } from '../device-link/index.ts';
import { startRabbitmqPlatform } from '../testkit/rabbitmq-platform.ts';
import { printMetric, processTreeCpuSeconds } from './report.ts';

const deviceCount = Number(process.env.BENCH_DEVICES ?? 500);
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const connectConcurrency = 32;
const pipelineWindow = 256;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function expectOk(outcome: CommandOutcome): void {
  if (outcome.status !== 'ok') throw new Error(`command failed during the benchmark: ${JSON.stringify(outcome)}`);
}

/** One command at a time; round-trip times in ms, sorted. */
async function roundTrips(bus: DeviceBus, deviceId: string, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    expectOk(await bus.command(deviceId, 'get_status', {}, 5000));
    samples.push(performance.now() - start);
  }
  return samples.sort((a, b) => a - b);
}

/** `pipelineWindow` commands in flight for `seconds`; commands per second. */
async function throughput(bus: DeviceBus, deviceId: string): Promise<number> {
  let done = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      expectOk(await bus.command(deviceId, 'get_gpio', { number: 7 }, 10_000));
      done++;
    }
  };
  await Promise.all(Array.from({ length: pipelineWindow }, worker));
  return done / ((performance.now() - start) / 1000);
}

function connectRaw(url: string, deviceId: string, credentials: Credentials): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId: deviceId,
    ca: credentials.caPem,
    cert: credentials.certPem,
    key: credentials.keyPem,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
  });
}

interface FleetEntry {
  id: string;
  credentials: Credentials;
}

/** Opens one device connection, ready for requests; resolves with how to close it. */
type Connector = (entry: FleetEntry) => Promise<{ close(): Promise<unknown> }>;

/** MQTTS as a device does it: connect, subscribe to its requests. */
const mqttConnector: Connector = async ({ id, credentials }) => {
  const client = await connectRaw(platform.node.mqttsUrl, id, credentials);
  await client.subscribeAsync(`${id}/#`, { qos: 1 });
  return { close: () => client.endAsync() };
};

/** AMQPS (0-9-1, EXTERNAL) through the simulator: connect, declare/bind/consume its queue. */
const amqp091Connector: Connector = async ({ id, credentials }) => {
  const device = await startDevice({ transport: 'amqp091', url: platform.node.amqpsUrl, deviceId: id, credentials });
  return { close: () => device.stop() };
};

/** Connect every device with `connectConcurrency` at a time; connects per second. */
async function connectAll(fleet: FleetEntry[], connector: Connector, open: { close(): Promise<unknown> }[]): Promise<number> {
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < fleet.length) open.push(await connector(fleet[next++]!));
  };
  await Promise.all(Array.from({ length: connectConcurrency }, worker));
  return fleet.length / ((performance.now() - start) / 1000);
}

async function simulated(url: string, deviceId: string, credentials: Credentials): Promise<SimulatedDevice> {
  return startDevice({ transport: 'mqtt', url, deviceId, credentials });
}

// ---------------------------------------------------------------------------------------------

// A long cache TTL so the warm reconnect round finds every answer still cached.
const platform = await startRabbitmqPlatform({ authCacheTtlMs: 120_000 });
try {
  printMetric('rabbitmq_boot_s', platform.node.bootMs / 1000, 's');

  const rttId = 'bench-rtt';
  const device = await simulated(platform.node.mqttsUrl, rttId, await platform.register(rttId));
  await roundTrips(platform.bus, rttId, 500); // warm up the JIT, TLS sessions and RabbitMQ's queues
  const runs = [await roundTrips(platform.bus, rttId, 1000), await roundTrips(platform.bus, rttId, 1000), await roundTrips(platform.bus, rttId, 1000)];
  printMetric('rabbitmq_rtt_p50_ms', median(runs.map((r) => percentile(r, 50))), 'ms');
  printMetric('rabbitmq_rtt_p99_ms', median(runs.map((r) => percentile(r, 99))), 'ms');
  printMetric('rabbitmq_commands_per_s', median([await throughput(platform.bus, rttId), await throughput(platform.bus, rttId), await throughput(platform.bus, rttId)]), 'cmd/s');
  await device.stop();

  // The embedded engine on the same machine, same device simulator, same registry: the peer.
  const serverTls = await platform.ca.issueServerCertificate(['127.0.0.1']);
  const embedded = await startEmbeddedBus({
    host: '127.0.0.1',
    port: 0,
    tls: { clientTrustPem: platform.ca.clientTrustPem, certPem: serverTls.certPem, keyPem: serverTls.keyPem },
    authority: platform.store,
    logger: pino({ level: 'silent' }),
  });
  const embeddedId = 'bench-embedded';
  const embeddedDevice = await simulated(embedded.deviceUrl, embeddedId, await platform.register(embeddedId));
  await roundTrips(embedded, embeddedId, 500);
  const embeddedRuns = [await roundTrips(embedded, embeddedId, 1000), await roundTrips(embedded, embeddedId, 1000), await roundTrips(embedded, embeddedId, 1000)];
  printMetric('embedded_rtt_p50_ms', median(embeddedRuns.map((r) => percentile(r, 50))), 'ms');
  printMetric('embedded_rtt_p99_ms', median(embeddedRuns.map((r) => percentile(r, 99))), 'ms');
  printMetric('embedded_commands_per_s', await throughput(embedded, embeddedId), 'cmd/s');
  await embeddedDevice.stop();
  await embedded.close();

  // Connect rate: every first connect asks the server over HTTP (user, vhost, queue, exchange,
  // topic); a reconnect within the cache TTL is answered by the node's auth cache.
  const register = async (prefix: string) => {
    const entries: FleetEntry[] = [];
    for (let i = 0; i < deviceCount; i++) entries.push({ id: `${prefix}-${i}`, credentials: await platform.register(`${prefix}-${i}`) });
    return entries;
  };
  /** A cold round (every answer asked of the server), then the same devices again within the cache TTL. */
  const measureConnects = async (prefix: string, fleet: FleetEntry[], connector: Connector) => {
    const open: { close(): Promise<unknown> }[] = [];
    for (const label of ['cold', 'cached'] as const) {
      const authBefore = platform.authRequests();
      const cpuBefore = { broker: await processTreeCpuSeconds(platform.node.pid), here: process.cpuUsage() };
      printMetric(`${prefix}_connects_per_s_${label}`, await connectAll(fleet, connector, open), 'conn/s');
      const here = process.cpuUsage(cpuBefore.here);
      printMetric(`${prefix}_broker_cpu_per_connect_ms_${label}`, (((await processTreeCpuSeconds(platform.node.pid)) - cpuBefore.broker) * 1000) / deviceCount, 'ms');
      // This process is both the devices and the iotcloud server answering the auth requests.
      printMetric(`${prefix}_devices_and_server_cpu_per_connect_ms_${label}`, (here.user + here.system) / 1000 / deviceCount, 'ms');
      printMetric(`${prefix}_auth_http_requests_per_connect_${label}`, (platform.authRequests() - authBefore) / deviceCount, 'req');
      await Promise.all(open.splice(0).map((connection) => connection.close()));
    }
  };
  await measureConnects('rabbitmq', await register('bench-fleet'), mqttConnector);
  await measureConnects('rabbitmq_amqp091', await register('bench-amqp'), amqp091Connector);
} finally {
  await platform.close();
}
