/**
 * The RabbitMQ engine through the CLI, on one node started with `broker start` and one
 * `up --engine rabbitmq` (a node boots in 15-25 s, so the tests share them):
 * - the LAN names: `broker start --tls-host` puts them in the certificate the node serves
 *   devices, `up --tls-host` hands out the node's device URL on the first of them, and warns when
 *   the node's certificate lacks one;
 * - `iotcloud sim` with a device whose certificate is from this CA but who is not registered is
 *   refused in each transport's own words (MQTT CONNACK, AMQP 0-9-1 403 ACCESS-REFUSED, AMQP 1.0
 *   amqp:unauthorized-access); every one must end the run with exit 3 and the one clear line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rabbitmqBin } from '../../broker/layout.ts';
import { loadOrCreateCertificateAuthority } from '../../certs/index.ts';
import { RestClient } from '../../rest-client/index.ts';
import { freePorts } from '../../testkit/rabbitmq-platform.ts';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';
import { handshake } from '../helpers/tls-handshake.ts';

const run = promisify(execFile);
const installed = existsSync(`${rabbitmqBin}/rabbitmq-server`);

let dir: string;
let amqpsPort: number;
let mqttsPort: number;
let up: UpProcess | undefined;
const iotcloud = (...args: string[]) => run(process.execPath, [IOTCLOUD_BIN, ...args], { cwd: dir, maxBuffer: 8 * 1024 * 1024 });

beforeAll(async () => {
  if (!installed) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): run bash scripts/setup-system.sh as root`);
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-rmq-cli-'));
  const [apiPort, amqps, distPort, devicePort] = await freePorts(4);
  amqpsPort = amqps!;
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
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('RabbitMQ engine: --tls-host on broker start and up', () => {
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

describe('iotcloud sim on the RabbitMQ engine: a device that is not registered', () => {
  let certs: string;

  beforeAll(async () => {
    // A certificate from the server's own CA, for a device the registry does not know.
    const ca = await loadOrCreateCertificateAuthority(join(dir, 'server', 'ca'));
    const issued = await ca.issueDeviceCertificate('stray1');
    certs = join(dir, 'stray');
    await mkdir(certs);
    await writeFile(join(certs, 'rootca.pem'), ca.rootCertPem);
    await writeFile(join(certs, 'stray1_cert.pem'), issued.certPem);
    await writeFile(join(certs, 'stray1_pkey.pem'), issued.keyPem, { mode: 0o600 });
  });

  const sim = async (transport: string, url: string) => {
    const env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home') };
    try {
      await run(process.execPath, [IOTCLOUD_BIN, 'sim', '--device', 'stray1', '--dir', certs, '--transport', transport, '--url', url], { env, timeout: 90_000 });
      return { code: 0, stderr: '' };
    } catch (error) {
      const e = error as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  };

  it.each([
    ['mqtt', () => `mqtts://127.0.0.1:${mqttsPort}`, /MQTT CONNACK [45]/],
    ['amqp091', () => `amqps://127.0.0.1:${amqpsPort}`, /AMQP 403 ACCESS_REFUSED/],
    ['amqp10', () => `amqps://127.0.0.1:${amqpsPort}`, /AMQP 1\.0 amqp:unauthorized-access/],
  ])('%s: exit 3 and one line naming `iotcloud register`', async (transport, url, detail) => {
    const result = await sim(transport, url());
    expect(result.code, result.stderr).toBe(3);
    // Node's own DEP0123 warning (amqplib sets an IP address as the TLS server name) aside.
    const lines = result.stderr.trim().split('\n').filter((line) => !/DeprecationWarning|--trace-deprecation/.test(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^iotcloud sim: the broker at \S+ refused device stray1 \(.+\): it is not registered with this server.*iotcloud register <name> --device-id stray1/);
    expect(lines[0]).toMatch(detail);
  }, 120_000);
});
