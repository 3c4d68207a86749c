/** Real brokers and devices for the harness tests: an aedes broker on a free port, simulated and silent devices. */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { startDevice, type SimulatedDevice } from '../../simulators/index.ts';

export interface TestBroker {
  url: string;
  close(): Promise<void>;
}

export async function startBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  // noDelay: without it every small MQTT packet waits out a delayed ACK (~40 ms a hop).
  const server: Server = createServer({ noDelay: true }, broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function simulatedDevice(url: string, deviceId: string, profile = ''): Promise<SimulatedDevice> {
  return startDevice({ transport: 'mqtt', url, deviceId, allowPlaintext: true, profile, bootMs: 50 });
}

/** A device that connects and subscribes to its requests, then never answers anything. */
export async function silentDevice(url: string, deviceId: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { clientId: deviceId, reconnectPeriod: 0 });
  await client.subscribeAsync(`${deviceId}/#`, { qos: 1 });
  return client;
}

/** A writable that keeps what was written, for checking console output. */
export function captureOutput(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

/** Whether a process runs (a zombie waiting for init to reap it does not count). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
