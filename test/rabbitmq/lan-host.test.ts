/**
 * The LAN names on the RabbitMQ engine, through the CLI: `broker start --tls-host` puts them in
 * the certificate the node serves devices, `up --engine rabbitmq --tls-host` hands out the node's
 * device URL on the first of them, and warns when the node's certificate lacks one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RestClient } from '../../rest-client/index.ts';
import { freePorts } from '../../testkit/rabbitmq-platform.ts';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';
import { handshake } from '../helpers/tls-handshake.ts';

const run = promisify(execFile);

describe('RabbitMQ engine: --tls-host on broker start and up', () => {
  let dir: string;
  let mqttsPort: number;
  let up: UpProcess | undefined;
  const iotcloud = (...args: string[]) => run(process.execPath, [IOTCLOUD_BIN, ...args], { cwd: dir, maxBuffer: 8 * 1024 * 1024 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-rmq-lan-'));
    const [apiPort, amqpsPort, distPort, devicePort] = await freePorts(4);
    mqttsPort = devicePort!;
    const started = await iotcloud('broker', 'start', '--state-dir', 'rmq', '--data-dir', 'server', '--amqps-port', String(amqpsPort), '--mqtts-port', String(mqttsPort), '--dist-port', String(distPort),
      '--auth-url', `https://127.0.0.1:${apiPort}/api/v1/broker-auth`, '--tls-host', '192.0.2.10', '--tls-host', 'board-host.lan');
    expect(started.stdout).toContain('is up');
    up = await spawnUp(['--engine', 'rabbitmq', '--broker-state-dir', join(dir, 'rmq'), '--data-dir', join(dir, 'server'), '--api-port', String(apiPort), '--mqtt-port', '0',
      '--tls-host', '192.0.2.10', '--tls-host', 'board-host.lan', '--tls-host', 'not-on-node.lan']);
  }, 180_000);
  afterAll(async () => {
    await up?.stop();
    await iotcloud('broker', 'stop', '--state-dir', 'rmq').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('the node serves the names, registrations hand out its device URL on the first, and a name only up has is warned about', async () => {
    expect(up!.output()).toContain("the RabbitMQ node's certificate does not name not-on-node.lan");
    expect(up!.output()).toContain('iotcloud broker start --tls-host not-on-node.lan');

    const client = new RestClient({ baseUrl: up!.apiUrl, caPem: up!.rootCaPem });
    try {
      await client.signup('rabbit', 'correct horse battery');
      await client.login('rabbit', 'correct horse battery');
      const registration = await client.registerDevice('lan board');
      expect(registration.mqttUrl).toBe(`mqtts://192.0.2.10:${mqttsPort}`);

      const device = { ca: registration.rootCa, cert: registration.certificate, key: registration.privateKey };
      const onNode = await handshake(`mqtts://127.0.0.1:${mqttsPort}`, { ...device, servername: 'board-host.lan' });
      expect(onNode.authorized, onNode.error).toBe(true);
      expect(onNode.certificate.checkIP('192.0.2.10')).toBe('192.0.2.10');
    } finally {
      client.close();
    }
  }, 60_000);
});
