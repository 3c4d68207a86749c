/**
 * The embedded device bus: an aedes MQTT broker inside the server, on MQTTS with mutual TLS.
 *
 * A device is who its certificate says: the TLS layer refuses certificates not issued by the
 * device CA (the CA's clientTrustPem), and on CONNECT the registry must know the certificate's fingerprint as the
 * active certificate of the device named by its CN, which must equal the client id. A device may
 * subscribe only under `<its id>/` and publish only `server/<its id>/<command>`.
 */
import { once } from 'node:events';
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import type { Logger } from 'pino';
import {
  decodeResponse,
  encodeRequest,
  isValidDeviceId,
  limits,
  PendingRequests,
  serverSubscription,
  type CommandName,
  type CommandOutcome,
} from '../../firmware-protocol/index.ts';
import type { BusCounters, DeviceAuthority, DeviceBus, PresenceEvent } from './device-bus.ts';
import { deviceListenerTlsOptions, type DeviceListenerTlsMaterial } from './device-listener-tls.ts';
import { peerIdentity } from './peer-identity.ts';
import { guardSocket, packetSizeGuard, type PacketSizeLimits } from './mqtt-size-guard.ts';
import { rateLimitedLog } from '../rate-limited-log.ts';
import { urlHostOfListener } from '../../device-link/index.ts';

export interface EmbeddedBusOptions {
  host: string;
  port: number;
  tls: DeviceListenerTlsMaterial;
  authority: DeviceAuthority;
  logger: Logger;
  /**
   * A loopback-only plain listener for trusted services that act as the server on the broker
   * (the conformance harness sending raw requests). Off unless asked for.
   */
  service?: { port: number; password: string };
}

/** Service clients log in with this user name and a client id starting with `svc.`: the dot can never appear in a device id. */
export const SERVICE_USERNAME = 'iotcloud-service';
export const SERVICE_CLIENT_PREFIX = 'svc.';

const NOT_AUTHORIZED = 5;

/**
 * What one connection may make the broker hold. A CONNECT is a few hundred bytes (client id,
 * `guest`/`guest` from 2019 firmware, the service password); after it the largest legitimate
 * packet is an answer: topic `server/<id>/<command>` and a payload of at most maxPayloadBytes.
 */
export const PACKET_LIMITS: PacketSizeLimits = { beforeConnectBytes: 4096, packetBytes: limits.maxPayloadBytes + 512 };
/** Longest command level in a device's answer topic; command names are far shorter. */
export const MAX_COMMAND_LEVEL_LENGTH = 64;

export async function startEmbeddedBus(options: EmbeddedBusOptions): Promise<DeviceBus> {
  const { authority, logger } = options;
  const pending = new PendingRequests();
  const clients = new Map<string, Client>();
  const presenceListeners: ((event: PresenceEvent) => void)[] = [];
  const serviceSockets = new WeakSet<object>();
  const isService = (client: Client | null) => client !== null && serviceSockets.has(client.conn);
  const counters: Omit<BusCounters, 'devicesConnected' | 'answersUnmatched'> = { commandsSent: 0, answersMatched: 0, answersInvalid: 0 };
  // Every refusal is logged, a few lines per device a minute: a device must not fill the disk.
  const refusalLog = rateLimitedLog(logger);

  const emitPresence = (deviceId: string, online: boolean) => {
    for (const listener of presenceListeners) listener({ deviceId, online, at: new Date() });
  };

  const broker = await Aedes.createBroker({
    maxClientsIdLength: limits.maxDeviceIdLength,
    preConnect: (client, packet, done) => {
      // Device wills are dropped: the server learns presence from the connection itself, and a
      // will is a publish the broker would hold (retained, if asked) and send after the
      // device's certificate may have been revoked.
      if (!isService(client) && packet.will) {
        refusalLog('warn', `will:${packet.clientId}`, { clientId: packet.clientId, topic: packet.will.topic.slice(0, 200) }, 'device will dropped (devices may not leave wills)');
        delete packet.will;
      }
      done(null, true);
    },
    authenticate: (client, username, password, done) => {
      if (isService(client)) {
        const refusal = checkService(client.id, username, password, options.service?.password ?? '');
        if (refusal) refusalLog('warn', `connect:${client.id}`, { clientId: client.id, reason: refusal }, 'service connection refused');
        return refusal ? done(Object.assign(new Error(refusal), { returnCode: NOT_AUTHORIZED }), false) : done(null, true);
      }
      authenticateDevice(client, authority).then(
        (refusal) => {
          if (refusal === undefined) return done(null, true);
          refusalLog('warn', `connect:${client.id}`, { clientId: client.id, reason: refusal }, 'device connection refused');
          done(Object.assign(new Error(refusal), { returnCode: NOT_AUTHORIZED }), false);
        },
        (error: unknown) => {
          logger.error({ err: error, clientId: client.id }, 'device authentication failed');
          done(Object.assign(new Error('registry unavailable'), { returnCode: 3 }), false);
        },
      );
    },
    authorizeSubscribe: (client, subscription, done) => {
      if (isService(client)) return done(null, subscription.topic.startsWith('$') ? null : subscription);
      const allowed = subscription.topic.startsWith(`${client.id}/`) && !subscription.topic.slice(client.id.length + 1).includes('+');
      if (!allowed) refusalLog('warn', `subscribe:${client.id}`, { clientId: client.id, topic: subscription.topic.slice(0, 200) }, 'subscription refused');
      done(null, allowed ? subscription : null); // null: SUBACK 0x80, the MQTT way to say no
    },
    authorizePublish: (client, packet, done) => {
      const parts = packet.topic.split('/');
      // Nothing is retained: a retained message is memory the broker keeps for a client forever
      // (and replays to every subscriber), and no part of the protocol needs one.
      packet.retain = false;
      if (isService(client)) {
        // A service sends requests to devices, nothing else.
        return done(parts.length === 2 && isValidDeviceId(parts[0]) ? null : new Error(`services may publish only <deviceId>/<command>, not ${packet.topic}`));
      }
      const allowed = client !== null && parts.length === 3 && parts[0] === 'server' && parts[1] === client.id && parts[2] !== '' && parts[2]!.length <= MAX_COMMAND_LEVEL_LENGTH;
      if (!allowed) {
        refusalLog('warn', `publish:${client?.id}`, { clientId: client?.id, topic: packet.topic.slice(0, 200) }, 'publish refused; closing the connection');
        return done(new Error(`publish to ${packet.topic} is not allowed`));
      }
      if (packet.payload.length > limits.maxPayloadBytes) {
        counters.answersInvalid++;
        return done(new Error(`payload of ${packet.payload.length} bytes is over the ${limits.maxPayloadBytes}-byte limit`));
      }
      done(null);
    },
  });

  broker.on('clientReady', (client) => {
    if (isService(client)) return;
    clients.get(client.id)?.close(); // a second connection with the same identity replaces the first
    clients.set(client.id, client);
    emitPresence(client.id, true);
  });
  broker.on('clientDisconnect', (client) => {
    if (isService(client)) return;
    if (clients.get(client.id) !== client) return;
    clients.delete(client.id);
    emitPresence(client.id, false);
  });
  broker.on('clientError', (client, error) => logger.debug({ clientId: client.id, err: error.message }, 'device client error'));

  const deliverAnswer = (packet: AedesPublishPacket, callback: () => void) => {
    const decoded = decodeResponse(packet.topic, packet.payload);
    if (!decoded.ok) {
      counters.answersInvalid++;
      refusalLog('warn', `answer:${packet.topic.split('/')[1]}`, { topic: packet.topic, error: decoded.error.message.slice(0, 300) }, 'invalid device answer');
      pending.settleInvalid(decoded.error, packet.topic, packet.payload);
    } else if (pending.settle(decoded.value)) {
      counters.answersMatched++;
    }
    callback();
  };
  await new Promise<void>((resolve) => broker.subscribe(serverSubscription('mqtt'), deliverAnswer, resolve));

  const guardPackets = (socket: net.Socket) => {
    const client = (socket as net.Socket & { client?: Client }).client; // aedes links them in handle()
    guardSocket(socket, packetSizeGuard(PACKET_LIMITS, () => client?.connected === true), (reason) =>
      refusalLog('warn', `packet:${socket.remoteAddress}`, { clientId: client?.id, address: socket.remoteAddress, reason }, 'packet refused; closing the connection'),
    );
  };

  const server = tls.createServer(
    deviceListenerTlsOptions(options.tls),
    (socket) => {
      socket.setNoDelay(true); // one small answer per command: Nagle would add ~40 ms to each round trip
      broker.handle(socket);
      guardPackets(socket);
    },
  );
  server.on('tlsClientError', (error) => logger.debug({ err: error.message }, 'TLS handshake refused'));
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address() as { port: number };

  let serviceServer: net.Server | undefined;
  if (options.service) {
    serviceServer = net.createServer((socket) => {
      socket.setNoDelay(true);
      serviceSockets.add(socket);
      broker.handle(socket);
      guardPackets(socket);
    });
    serviceServer.listen(options.service.port, '127.0.0.1');
    await once(serviceServer, 'listening');
  }
  const servicePort = serviceServer ? (serviceServer.address() as { port: number }).port : undefined;

  return {
    deviceUrl: `mqtts://${urlHostOfListener(options.host)}:${address.port}`,
    ...(servicePort === undefined ? {} : { serviceUrl: `mqtt://127.0.0.1:${servicePort}` }),

    async command(deviceId: string, command: CommandName, params: unknown, timeoutMs: number): Promise<CommandOutcome> {
      const { cid, outcome } = pending.open(deviceId, command, timeoutMs);
      const encoded = encodeRequest(deviceId, command, params as never, { cid });
      if (!encoded.ok) {
        pending.fail(cid, encoded.error.message);
        return outcome;
      }
      counters.commandsSent++;
      broker.publish({ cmd: 'publish', topic: encoded.value.topic, payload: encoded.value.payload, qos: 1, retain: false, dup: false }, (error) => {
        if (error) pending.fail(cid, `publish failed: ${error.message}`);
      });
      return outcome;
    },

    async disconnectDevice(deviceId: string): Promise<void> {
      const client = clients.get(deviceId);
      if (!client) return;
      const gone = once(broker, 'clientDisconnect');
      client.close();
      await gone;
    },

    isConnected: (deviceId) => clients.has(deviceId),
    onPresence: (listener) => void presenceListeners.push(listener),
    counters: () => ({ ...counters, answersUnmatched: pending.unmatched, devicesConnected: clients.size }),

    async close(): Promise<void> {
      pending.failAll('the server is shutting down');
      for (const client of clients.values()) client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (serviceServer) await new Promise<void>((resolve) => serviceServer.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

function checkService(clientId: string, username: string | undefined, password: Buffer | undefined, expected: string): string | undefined {
  if (!clientId.startsWith(SERVICE_CLIENT_PREFIX)) return `service client ids start with ${SERVICE_CLIENT_PREFIX}`;
  const given = password ?? Buffer.alloc(0);
  const wanted = Buffer.from(expected);
  const same = given.length === wanted.length && timingSafeEqual(given, wanted);
  return username === SERVICE_USERNAME && same && expected !== '' ? undefined : 'wrong service user name or password';
}

/** Why this client may not connect, or undefined when it may. */
async function authenticateDevice(client: Client, authority: DeviceAuthority): Promise<string | undefined> {
  const identity = peerIdentity(client.conn as tls.TLSSocket);
  if (typeof identity === 'string') return identity;
  const { commonName, fingerprint } = identity;
  if (!isValidDeviceId(commonName)) return 'certificate CN is not a device id';
  if (client.id !== commonName) return `client id ${JSON.stringify(client.id)} does not match certificate CN ${JSON.stringify(commonName)}`;
  if (!(await authority.isDeviceActive(commonName, fingerprint))) return 'device is not registered or was unregistered';
  return undefined;
}
