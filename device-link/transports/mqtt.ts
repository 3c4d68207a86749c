/**
 * MQTT transport (MQTT.js, MQTT 3.1.1 so RabbitMQ 3.10 and aedes both serve it): client id = the
 * device id, subscribe `<id>/#` at QoS 1, answers at QoS 1. MQTT.js's own reconnection is off —
 * the connection core retries with backoff and jitter, the same for every transport.
 */
import type { SecureContext, TLSSocket } from 'node:tls';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { deviceSubscription } from '../../firmware-protocol/index.ts';
import { type BrokerSession, type SessionHandlers, type TransportBinding, type TransportOptions } from '../connection.ts';
import { SubscriptionRefused } from '../refusal.ts';
import { checkServerNameOnLeafOnly, deviceTlsContext } from '../tls.ts';
import { checkUrl, hostOf, serverName } from '../url.ts';

export interface MqttTransportOptions extends TransportOptions {
  /** MQTT clean session. True (default): requests sent while the device is away are lost, as
   * with the original firmware; false: the broker keeps them for the device's return. */
  clean?: boolean;
  keepaliveSeconds?: number;
  connectTimeoutMs?: number;
}

const CLOSE_GRACE_MS = 2_000;
const ignoreLog = () => undefined;

export function mqttTransport(options: MqttTransportOptions): TransportBinding {
  const { url, tls } = checkUrl(options, { tls: 'mqtts', plain: 'mqtt' });
  const clientOptions: IClientOptions = {
    clientId: options.deviceId,
    clean: options.clean ?? true,
    keepalive: options.keepaliveSeconds ?? 60,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    protocolVersion: 4,
    reconnectPeriod: 0,
    resubscribe: false,
    // One shared no-op instead of a `debug` logger per client: ~2 KB of heap per device in a fleet.
    log: ignoreLog,
    // Where to connect as options, not a URL string: MQTT.js would parse the URL on every connect
    // and merge it into options it then `delete`s from, leaving each client's options object in
    // V8's slow dictionary mode (1.6 KB a device in a fleet's heap).
    ...brokerAddress(url, tls),
    ...(tls
      ? {
          rejectUnauthorized: true,
          ...serverName(url),
        }
      : {}),
  };
  return {
    topicStyle: 'mqtt',
    // The TLS context is built at the first connection, not here: constructing a device checks
    // its options and connects nothing.
    open(handlers) {
      return openSession(url.href, tls ? { ...clientOptions, secureContext: deviceTlsContext(options.credentials!) } : clientOptions, options.deviceId, handlers);
    },
  };
}

/** The broker's address as MQTT.js options; user and password too if the URL carries them. */
function brokerAddress(url: URL, tls: boolean): Pick<IClientOptions, 'protocol' | 'host' | 'port' | 'username' | 'password'> {
  return {
    protocol: tls ? 'mqtts' : 'mqtt',
    host: hostOf(url),
    port: url.port ? Number(url.port) : tls ? 8883 : 1883,
    ...(url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : {}),
  };
}

/** `url` only names the broker in error messages: `clientOptions` says where to connect. */
function openSession(url: string, clientOptions: IClientOptions & { secureContext?: SecureContext }, deviceId: string, handlers: SessionHandlers): Promise<BrokerSession> {
  return new Promise((resolve, reject) => {
    const client = connect({ ...clientOptions });
    if (clientOptions.secureContext) checkServerNameOnLeafOnly(client.stream as TLSSocket);
    let connected = false;
    let lastError: Error | undefined;
    const work = new SessionWork();

    client.on('error', (error) => {
      lastError = error;
      if (!connected) {
        work.ending = true;
        client.end(true);
        reject(error);
      }
    });
    client.on('close', () => {
      work.failAll(lastError ?? new Error('connection closed'));
      if (!connected) {
        if (!work.ending) reject(lastError ?? new Error(`connection to ${url} closed before CONNACK`));
        work.ending = true;
        return;
      }
      if (!work.ending) {
        work.ending = true;
        client.end(true); // release MQTT.js's timers; it will not reconnect on its own
        handlers.lost(lastError ?? new Error('connection closed by the broker'));
      }
    });
    client.on('message', (topic, payload) => handlers.message(topic, payload));
    client.once('connect', () => {
      connected = true;
      // Answers are tiny and latency is what gets measured: without this, Nagle's algorithm
      // and the peer's delayed ACK add about 40 ms to an exchange.
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      resolve({
        async listen() {
          const granted = await work.guard(client.subscribeAsync(deviceSubscription(deviceId), { qos: 1 }));
          if (granted.some((grant) => grant.qos === 128)) throw new SubscriptionRefused(`the broker refused the subscription ${deviceSubscription(deviceId)}`);
        },
        async send(topic, payload) {
          await work.guard(client.publishAsync(topic, payload, { qos: 1 }));
        },
        destroy() {
          work.ending = true;
          client.end(true); // no DISCONNECT packet: the broker sees the socket die
        },
        async close() {
          work.ending = true;
          await endWithin(client, CLOSE_GRACE_MS);
        },
      });
    });
  });
}

/**
 * The QoS 1 work in flight on one session. MQTT.js keeps it for a reconnection that never comes
 * (each attempt is a new client), so it is failed here when the connection closes. A class, not
 * closures: tsx names every closure assigned to a name (esbuild keepNames), which gives each one
 * its own property store; per device in a fleet of thousands, that is heap the GC marks.
 */
class SessionWork {
  /** Set once the session is closing or closed: new work fails at once. */
  ending = false;
  private readonly rejections = new Set<(error: Error) => void>();

  guard<T>(work: Promise<T>): Promise<T> {
    if (this.ending) {
      work.catch(() => undefined); // its failure is reported by the session, not left unhandled
      return Promise.reject(new Error('not connected'));
    }
    return new Promise<T>((resolveWork, rejectWork) => {
      this.rejections.add(rejectWork);
      work.then(resolveWork, rejectWork).finally(() => this.rejections.delete(rejectWork));
    });
  }

  failAll(error: Error): void {
    for (const rejectWork of this.rejections) rejectWork(error);
    this.rejections.clear();
  }
}

/** A clean DISCONNECT, unless the broker does not let it finish in time. */
async function endWithin(client: MqttClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      client.end(true);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([client.endAsync(false).catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
