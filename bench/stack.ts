/**
 * What several benchmarks need: `iotcloud up` in its own process (as users run it), a logged-in
 * client, and simulated devices registered through the REST API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnUp, type UpProcess } from '../testkit/up-process.ts';
import { RestClient, type DeviceRegistration } from '../rest-client/index.ts';
import { startDevice, type SimulatedDevice } from '../simulators/index.ts';

export interface BenchStack {
  up: UpProcess;
  client: RestClient;
  token: string;
  registerDevices(count: number): Promise<{ registration: DeviceRegistration; device: SimulatedDevice }[]>;
  close(): Promise<void>;
}

export interface BenchStackOptions {
  /** More `iotcloud up` flags, e.g. the RabbitMQ engine's. */
  extraArgs?: string[];
  /** The server's data folder (default: a new temporary one, removed at close). */
  dataDir?: string;
  /** The REST port (default: any free one); the RabbitMQ node must know it to ask for auth. */
  apiPort?: number;
  /** The embedded broker's loopback service listener (default true; the RabbitMQ engine has none). */
  serviceListener?: boolean;
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'iotcloud-bench-')));
  const up = await spawnUp([
    ...['--api-port', String(options.apiPort ?? 0), '--mqtt-port', '0', '--data-dir', dir, '--log-level', 'error'],
    ...(options.serviceListener === false ? [] : ['--service-port', '0']),
    ...(options.extraArgs ?? []),
  ]);
  const client = new RestClient({ baseUrl: up.apiUrl, caPem: up.rootCaPem });
  await client.signup('bench', 'bench password');
  await client.login('bench', 'bench password');
  const devices: SimulatedDevice[] = [];
  return {
    up,
    client,
    token: client.token!,
    async registerDevices(count) {
      const started = [];
      for (let i = 0; i < count; i++) {
        const registration = await client.registerDevice(`bench-${devices.length}`);
        const device = await startDevice({
          transport: 'mqtt',
          url: up.mqttUrl,
          deviceId: registration.deviceId,
          credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey },
        });
        devices.push(device);
        started.push({ registration, device });
      }
      return started;
    },
    async close() {
      await Promise.all(devices.map((d) => d.stop()));
      client.close();
      await up.stop();
      if (options.dataDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
