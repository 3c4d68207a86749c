/** Starts a real server (embedded engines, HTTPS, MQTTS) on free ports in a temp folder. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { startServer, type RunningServer } from '../../server/server.ts';
import type { ServerConfig } from '../../server/config.ts';
import { RestClient, type DeviceRegistration } from '../../rest-client/index.ts';

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  /** A client with no token. */
  anonymous(): RestClient;
  /** Sign up a fresh user and log in. */
  user(name?: string): Promise<RestClient>;
  close(): Promise<void>;
}

let users = 0;

export async function startTestServer(overrides: Partial<ServerConfig> = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'iotcloud-test-')));
  const server = await startServer({ apiPort: 0, mqttPort: 0, dataDir: dir, ...overrides }, pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' }));
  const clients: RestClient[] = [];
  const anonymous = () => {
    const client = new RestClient({ baseUrl: server.apiUrl, caPem: server.rootCaPem });
    clients.push(client);
    return client;
  };
  return {
    server,
    dataDir: dir,
    anonymous,
    async user(name = `user${process.pid}x${users++}`) {
      const client = anonymous();
      await client.signup(name, 'correct horse battery');
      await client.login(name, 'correct horse battery');
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await server.close();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Connect an MQTT client with a device's credentials; resolves once CONNACK arrives, rejects on refusal. */
export function connectAsDevice(url: string, registration: Pick<DeviceRegistration, 'deviceId' | 'rootCa' | 'certificate' | 'privateKey'>, overrides: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: registration.deviceId,
      ca: registration.rootCa,
      cert: registration.certificate,
      key: registration.privateKey,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      protocolVersion: 4,
      ...overrides,
    });
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}
