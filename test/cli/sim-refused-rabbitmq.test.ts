/**
 * `iotcloud sim` against the RabbitMQ engine (a real node, its broker-auth backend, a real CA):
 * a device whose certificate is from this CA but who is not registered is refused in each
 * transport's own words (MQTT CONNACK, AMQP 0-9-1 403 ACCESS-REFUSED, AMQP 1.0
 * amqp:unauthorized-access); every one must end the run with exit 3 and the one clear line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rabbitmqBin } from '../../broker/layout.ts';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';
import { startRabbitmqPlatform, type RabbitmqPlatform } from '../../testkit/rabbitmq-platform.ts';

const run = promisify(execFile);
const installed = existsSync(`${rabbitmqBin}/rabbitmq-server`);

describe('iotcloud sim on the RabbitMQ engine: a device that is not registered', () => {
  let platform: RabbitmqPlatform;
  let dir: string;

  beforeAll(async () => {
    if (!installed) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): run bash scripts/setup-system.sh as root`);
    platform = await startRabbitmqPlatform({ bus: false });
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-sim-rabbitmq-'));
    // A certificate from this platform's CA, for a device the registry does not know.
    const issued = await platform.ca.issueDeviceCertificate('stray1');
    await writeFile(join(dir, 'rootca.pem'), platform.ca.rootCertPem);
    await writeFile(join(dir, 'stray1_cert.pem'), issued.certPem);
    await writeFile(join(dir, 'stray1_pkey.pem'), issued.keyPem, { mode: 0o600 });
  }, 180_000);
  afterAll(async () => {
    await platform?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const sim = async (transport: string, url: string) => {
    const env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home') };
    try {
      await run(process.execPath, [IOTCLOUD_BIN, 'sim', '--device', 'stray1', '--dir', dir, '--transport', transport, '--url', url], { env, timeout: 90_000 });
      return { code: 0, stderr: '' };
    } catch (error) {
      const e = error as { code: number; stderr: string };
      return { code: e.code, stderr: e.stderr };
    }
  };

  it.each([
    ['mqtt', () => platform.node.mqttsUrl, /MQTT CONNACK [45]/],
    ['amqp091', () => platform.node.amqpsUrl, /AMQP 403 ACCESS_REFUSED/],
    ['amqp10', () => platform.node.amqpsUrl, /AMQP 1\.0 amqp:unauthorized-access/],
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
