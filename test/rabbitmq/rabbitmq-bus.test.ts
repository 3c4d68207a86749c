/**
 * The RabbitMQ engine end to end, on a real project-owned node started once for this file:
 * devices with platform certificates over MQTTS and AMQPS, the server's broker-auth endpoints
 * deciding who gets in and what each may touch, the bus publishing commands and collecting
 * answers, presence, revocation, and a broker restart while commands flow.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerStatus, startBrokerNode, stopBrokerNode } from '../../broker/node.ts';
import { isAlive } from '../../broker/files.ts';
import { rabbitmqBin } from '../../broker/layout.ts';
import { createEphemeralCertificateAuthority } from '../../certs/index.ts';
import type { CommandOutcome } from '../../firmware-protocol/index.ts';
import type { PresenceEvent } from '../../server/bus/device-bus.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/device.ts';
import type { BrokerControl } from '../../server/bus/rabbitmq.ts';
import type { Credentials } from '../../device-link/index.ts';
import { startRabbitmqPlatform, type RabbitmqPlatform } from '../../testkit/rabbitmq-platform.ts';

// A missing RabbitMQ fails these tests with what to install; it never skips them.
const installed = existsSync(`${rabbitmqBin}/rabbitmq-server`);

describe('the RabbitMQ engine', () => {
  let platform: RabbitmqPlatform;
  const presence: PresenceEvent[] = [];
  const devices: SimulatedDevice[] = [];
  const clients: MqttClient[] = [];
  let counter = 0;
  const newId = (prefix: string) => `${prefix}-${process.pid}-${(counter++).toString(36)}`;

  beforeAll(async () => {
    if (!installed) throw new Error(`RabbitMQ is not installed (${rabbitmqBin}/rabbitmq-server is missing): run bash scripts/setup-system.sh as root`);
    platform = await startRabbitmqPlatform();
    platform.bus.onPresence((event) => presence.push(event));
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await Promise.all(devices.map((device) => device.stop()));
    await platform?.close();
  }, 60_000);

  async function device(id: string, credentials: Credentials, transport: 'mqtt' | 'amqp091' = 'mqtt'): Promise<SimulatedDevice> {
    const url = transport === 'mqtt' ? platform.node.mqttsUrl : platform.node.amqpsUrl;
    const started = await startDevice({ transport, url, deviceId: id, credentials, bootMs: 20, reconnect: { initialMs: 50, maxMs: 500 } });
    devices.push(started);
    return started;
  }

  /** A raw MQTT 3.1.1 client; resolves on CONNACK, rejects on refusal or a TLS failure. */
  function connectMqtt(credentials: Credentials, clientId: string, extra: IClientOptions = {}): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const client = mqtt.connect(platform.node.mqttsUrl, {
        clientId,
        ca: credentials.caPem,
        cert: credentials.certPem,
        key: credentials.keyPem,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...extra,
      });
      clients.push(client);
      client.once('connect', () => resolve(client));
      client.once('error', (error) => {
        client.end(true);
        reject(error);
      });
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
  }

  /**
   * Presence reaches the server through the node's event exchange, asynchronously: under the whole
   * suite's load (several RabbitMQ nodes at once) it once took over 5 s. A bound, not a wait.
   */
  const PRESENCE_WITHIN_MS = 15_000;

  async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
      await sleep(20);
    }
  }

  describe('the project-owned RabbitMQ node', () => {
    it('reports its status: running, its listeners, a raised file limit', async () => {
      const status = await brokerStatus({ stateDir: platform.node.stateDir });
      expect(status.running).toBe(true);
      expect(status.rabbitmqVersion).toMatch(/^3\./);
      expect(status.listeners).toEqual(
        expect.arrayContaining([`amqp/ssl 127.0.0.1:${platform.node.amqpsPort}`, `mqtt/ssl 127.0.0.1:${platform.node.mqttsPort}`]),
      );
      // No plain AMQP: there it could only offer a password login (docs/security.md).
      expect(status.listeners!.filter((listener) => listener.startsWith('amqp '))).toEqual([]);
      expect(status.fileDescriptors!.limit).toBeGreaterThan(1024); // not the `su rabbitmq` default
      console.log(`rabbitmq_boot_ms ${Math.round(platform.node.bootMs)} ms`);
    });

    it('a second start finds the running node instead of booting another', async () => {
      const again = await startBrokerNode({ stateDir: platform.node.stateDir, tls: { clientTrustPem: '', rootCaPem: '', certPem: '', keyPem: '' }, authUrl: platform.node.authUrl, install: false });
      expect(again).toMatchObject({ alreadyRunning: true, pid: platform.node.pid, nodeName: platform.node.nodeName, bootMs: 0 });
      expect(again.credentials).toEqual(platform.node.credentials);
    });
  });

  describe('devices with platform certificates', () => {
    it('an MQTTS device answers commands published by the RabbitMQ bus, and shows up as present', async () => {
      const id = newId('mq');
      await device(id, await platform.register(id));
      await until(() => platform.bus.isConnected(id), PRESENCE_WITHIN_MS, 'presence from the event exchange');
      expect(presence).toContainEqual(expect.objectContaining({ deviceId: id, online: true }));

      const outcome = await platform.bus.command(id, 'set_gpio', { number: 18, value: 1 }, 5000);
      expect(outcome).toMatchObject({ status: 'ok', result: { number: 18, value: 1 } });
      expect(await platform.bus.command(id, 'get_gpio', { number: 18 }, 5000)).toMatchObject({ status: 'ok', result: { value: 1 } });
      expect(platform.bus.counters().answersMatched).toBeGreaterThanOrEqual(2);
    });

    it('an AMQP 0-9-1 device logs in with its certificate (EXTERNAL) over AMQPS and answers too', async () => {
      const id = newId('amqp');
      await device(id, await platform.register(id), 'amqp091');
      expect(await platform.bus.command(id, 'get_status', {}, 5000)).toMatchObject({ status: 'ok', result: { status: 'running' } });
    });

    it('a command to an absent device times out; a device that leaves goes offline', async () => {
      const id = newId('gone');
      const sim = await device(id, await platform.register(id));
      await until(() => platform.bus.isConnected(id), PRESENCE_WITHIN_MS, 'online');
      await sim.stop();
      await until(() => !platform.bus.isConnected(id), PRESENCE_WITHIN_MS, 'offline after the device left');
      expect(await platform.bus.command(id, 'get_status', {}, 300)).toMatchObject({ status: 'timeout' });
    });
  });

  describe('presence while a server lists the node', () => {
    it("devices that come and go while a starting bus lists the node's connections keep their true presence", async () => {
      // The real listing is taken at once; only its answer is held until the devices have
      // changed, as when rabbitmqctl takes its usual second or more during a server's start.
      const [leaves, stays] = [newId('leaves'), newId('stays')];
      const leaving = await device(leaves, await platform.register(leaves));
      await until(() => platform.bus.isConnected(leaves), PRESENCE_WITHIN_MS, 'online before the listing');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let listed = false;
      let applied = false;
      const heldControl: BrokerControl = {
        ...platform.control,
        listConnections: async () => {
          const connections = await platform.control.listConnections();
          listed = true;
          await released;
          // The bus applies the listing in the continuation of this promise: only microtasks
          // from here on, so the next event-loop turn finds it applied.
          setImmediate(() => (applied = true));
          return connections;
        },
      };
      const bus = await platform.startBus(heldControl);
      try {
        await until(() => listed, PRESENCE_WITHIN_MS, 'the listing taken');
        expect(bus.isConnected(leaves)).toBe(false); // connected before this bus listened: only the listing knows it

        await leaving.stop();
        await until(() => !platform.bus.isConnected(leaves), PRESENCE_WITHIN_MS, 'the leaving device offline');
        await device(stays, await platform.register(stays));
        // Events reach this bus in order: once it has heard `stays` arrive, it has heard `leaves` go.
        await until(() => bus.isConnected(stays), PRESENCE_WITHIN_MS, 'the new device online');

        release(); // the listing holds `leaves` and not `stays`
        await until(() => applied, PRESENCE_WITHIN_MS, 'the listing applied');
        expect(bus.isConnected(stays)).toBe(true);
        expect(bus.isConnected(leaves)).toBe(false);
      } finally {
        release();
        await bus.close();
      }
    });
  });

  describe('closing a bus', () => {
    it('waits for the rabbitmqctl runs it started: none outlives it to write into the node folder', async () => {
      // A bus that has just connected is listing the node's connections and queues with rabbitmqctl.
      const bus = await platform.startBus();
      await bus.close();
      expect(cliProcessesFor(platform.node.nodeName)).toEqual([]);
    });
  });

  describe('the broker refuses', () => {
    it('a certificate from another CA (at the TLS layer)', async () => {
      const id = newId('foreign');
      await platform.register(id);
      const foreign = await createEphemeralCertificateAuthority();
      const issued = await foreign.issueDeviceCertificate(id);
      await expect(connectMqtt({ caPem: platform.ca.rootCertPem, certPem: issued.certPem, keyPem: issued.keyPem }, id)).rejects.toThrow();
    });

    it('a server certificate from the root presented as a client certificate (at the TLS layer; the node trusts the root too, for its own chain)', async () => {
      const id = newId('server-cert');
      await platform.register(id);
      const serverCert = await platform.ca.issueServerCertificate(['127.0.0.1']);
      const refused = await connectMqtt({ caPem: platform.ca.rootCertPem, certPem: serverCert.certPem, keyPem: serverCert.keyPem }, id).then(
        () => 'connected',
        (error: Error) => error.message,
      );
      expect(refused).toMatch(/handshake failure/); // TLS alert 40: its key usage is serverAuth only
    });

    it('a valid certificate of a device that was never registered', async () => {
      const id = newId('unknown');
      const issued = await platform.ca.issueDeviceCertificate(id);
      await expect(connectMqtt({ caPem: platform.ca.rootCertPem, certPem: issued.certPem, keyPem: issued.keyPem }, id)).rejects.toThrow(/Not authorized|Bad username|closed/i);
    });

    it('a client id that is not the certificate CN', async () => {
      const [a, b] = [newId('cid-a'), newId('cid-b')];
      const credentials = await platform.register(a);
      await platform.register(b);
      await expect(connectMqtt(credentials, b)).rejects.toThrow(/Not authorized|Bad username|closed/i);
    });

    it('a username and password instead of the certificate identity', async () => {
      const [a, b] = [newId('pw-a'), newId('pw-b')];
      const credentials = await platform.register(a);
      await platform.register(b);
      await expect(connectMqtt(credentials, b, { username: b, password: 'guess' })).rejects.toThrow(/Not authorized|Bad username|closed/i);
      await expect(connectMqtt(credentials, a, { username: platform.node.credentials.username, password: 'guess' })).rejects.toThrow(/Not authorized|Bad username|closed/i);
    });

    it("a subscription to another device's requests: the connection is closed", async () => {
      const [a, b] = [newId('sub-a'), newId('sub-b')];
      const client = await connectMqtt(await platform.register(a), a);
      await platform.register(b);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.subscribe(`${b}/#`, { qos: 1 }, () => undefined);
      await closed;
    });

    it("a publish on another device's answer topic: the connection is closed, the server hears nothing", async () => {
      const [a, b] = [newId('pub-a'), newId('pub-b')];
      const client = await connectMqtt(await platform.register(a), a);
      await platform.register(b);
      const pending = platform.bus.command(b, 'get_status', {}, 1500);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish(`server/${b}/get_status`, '{"status":"running"}', { qos: 1 }, () => undefined);
      await closed;
      expect(await pending).toMatchObject({ status: 'timeout' });
    });

    it('an unregistered device at once: disconnected, and its next connect refused despite the auth cache', async () => {
      const id = newId('revoke');
      const credentials = await platform.register(id);
      const sim = await device(id, credentials);
      await until(() => platform.bus.isConnected(id), PRESENCE_WITHIN_MS, 'online');
      expect(await platform.bus.command(id, 'get_status', {}, 5000)).toMatchObject({ status: 'ok' });

      await platform.store.revokeDevice(id);
      const started = performance.now();
      await platform.bus.disconnectDevice(id);
      console.log(`rabbitmq_disconnect_device_ms ${Math.round(performance.now() - started)} ms`);
      expect(platform.bus.isConnected(id)).toBe(false);
      await until(() => !sim.connected, 2000, 'the device saw its connection end');
      await sim.stop();
      // The cache TTL is 10 s: only the eviction makes this refusal immediate.
      await expect(connectMqtt(credentials, id)).rejects.toThrow(/Not authorized|Bad username|closed/i);
    });
  });

  describe('a broker restart while commands flow', () => {
    it('fails commands in flight at once, reconnects, and serves commands again within seconds', async () => {
      const id = newId('restart');
      await device(id, await platform.register(id));
      await until(() => platform.bus.isConnected(id), PRESENCE_WITHIN_MS, 'online');

      const outcomes: { outcome: CommandOutcome; endedAt: number }[] = [];
      let flowing = true;
      const worker = async () => {
        while (flowing) {
          const outcome = await platform.bus.command(id, 'get_status', {}, 1000);
          outcomes.push({ outcome, endedAt: performance.now() });
          if (outcome.status !== 'ok') await sleep(20);
        }
      };
      const workers = [worker(), worker(), worker(), worker()];
      await until(() => outcomes.filter((o) => o.outcome.status === 'ok').length >= 20, 5000, 'commands flowing');

      const bootMs = await platform.restartNode();
      const upAt = performance.now();
      console.log(`rabbitmq_restart_boot_ms ${Math.round(bootMs)} ms`);
      await until(() => outcomes.some((o) => o.endedAt > upAt && o.outcome.status === 'ok'), 15_000, 'a command succeeds after the restart');
      const recoveredMs = outcomes.find((o) => o.endedAt > upAt && o.outcome.status === 'ok')!.endedAt - upAt;
      console.log(`rabbitmq_recovery_after_boot_ms ${Math.round(recoveredMs)} ms`);
      flowing = false;
      await Promise.all(workers);

      const unavailable = outcomes.filter((o) => o.outcome.status === 'unavailable');
      expect(unavailable.length).toBeGreaterThan(0);
      // Fail fast: nothing waited for its 1 s deadline once the broker had gone.
      for (const { outcome } of unavailable) expect(outcome.elapsedMs).toBeLessThan(500);
      expect(recoveredMs).toBeLessThan(10_000);
      await until(() => platform.bus.isConnected(id), PRESENCE_WITHIN_MS, 'presence after the restart');
    }, 90_000);
  });

  describe('stopping the node', () => {
    it('ends its process; status then says it is not running', async () => {
      const { pid, stateDir } = platform.node;
      expect(await stopBrokerNode({ stateDir })).toBe(true);
      expect(isAlive(pid)).toBe(false);
      expect((await brokerStatus({ stateDir })).running).toBe(false);
      expect(await stopBrokerNode({ stateDir })).toBe(false);
    }, 60_000);
  });
});

/** Command lines of the RabbitMQ CLI (an Erlang VM running an escript) aimed at this node. */
function cliProcessesFor(nodeName: string): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')];
      } catch {
        return []; // ended while listed
      }
    })
    .filter((args) => args.includes('-escript main') && args.includes(` -n ${nodeName} `));
}
