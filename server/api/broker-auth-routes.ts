/**
 * RabbitMQ's HTTP auth backend (rabbitmq_auth_backend_http, 3.10) asks these endpoints who may
 * connect and what each connection may touch; every answer is the plain text `allow` or `deny`.
 * RabbitMQ POSTs form-encoded fields (or sends them as a GET query):
 *
 *   /user      username, [password]                       may this user log in?
 *   /vhost     username, vhost, ip, [client_id]           may it use this vhost?
 *   /resource  username, vhost, resource, name, permission, [client_id]
 *   /topic     username, vhost, resource, name, permission, routing_key, variable_map.client_id
 *
 * A device logs in with its certificate (username = CN, no password field: one with a password,
 * even an empty one, named its user itself and is refused). The node checks its
 * internal database first, where only the iotcloud server's own user lives, so these endpoints
 * answer for devices only: registered and not revoked; MQTT client id = username (the user check
 * carries no client id in 3.10, so the vhost check, asked right after login, enforces it); read
 * only its own requests (`<id>.…`, its queue `mqtt-subscription-<id>qos1`); write only its answers
 * (`server.<id>.<command>`).
 *
 * Limitation: the HTTP backend is never shown the certificate, so the fingerprint the embedded
 * engine compares cannot be checked here. The CN still names one certificate, because device ids
 * are never reused (a revoked id stays taken) and only the platform CA's certificates get through
 * the TLS listeners.
 *
 * Only the node is answered: it proves itself with HTTP Basic `node:<secret>` (the secret is made
 * by `iotcloud broker start` and kept in the node's state folder, mode 0600; RabbitMQ 3.10's
 * HTTP backend can send neither a client certificate nor a header, only the URL's user info),
 * and from loopback (the node runs beside the server). Any other local process gets 401: these
 * answers would tell it which device ids exist.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AMQP_EXCHANGE, amqpDeviceQueue, isValidDeviceId, RESPONSE_PREFIX } from '../../firmware-protocol/index.ts';
import { rateLimitedLog } from '../rate-limited-log.ts';

export interface BrokerAuthority {
  /** Any device, revoked ones included; the registry store fits. */
  getDevice(id: string): Promise<{ revoked: boolean } | null>;
}

export interface BrokerAuthOptions {
  authority: BrokerAuthority;
  /** The server's own broker user (internal backend): never accepted here. */
  serviceUser: string;
  /** The node's proof: requests must carry HTTP Basic `<user>:<secret>` (see broker/node.ts). */
  node: { user: string; secret: string };
  /** The one vhost devices use. */
  vhost?: string;
  /** Where the routes live; the broker's auth_http.*_path settings point here. */
  prefix?: string;
  logger?: Logger;
}

export const brokerAuthPrefix = '/api/v1/broker-auth';

type Fields = Record<string, string | undefined>;
/**
 * `logKey` groups refusals for the log's rate limit (5 lines a minute per key). It defaults to
 * the username, which is certificate-proven from the vhost check on; names a client merely
 * claims share one key, so inventing names cannot multiply the log lines.
 */
type Verdict = { allow: true } | { allow: false; reason: string; logKey?: string };

const allow: Verdict = { allow: true };
const deny = (reason: string, logKey?: string): Verdict => ({ allow: false, reason, ...(logKey === undefined ? {} : { logKey }) });

const FORM = 'application/x-www-form-urlencoded';
const commandWord = /^[A-Za-z0-9_-]{1,64}$/;

export function registerBrokerAuthRoutes(app: FastifyInstance, options: BrokerAuthOptions): void {
  const prefix = options.prefix ?? brokerAuthPrefix;
  const policy = new BrokerAuthPolicy(options);
  const log = options.logger;
  const refusals = log ? rateLimitedLog(log) : undefined;
  const isNode = nodeCheck(options.node.user, options.node.secret);

  // Encapsulated: the form parser serves these routes only; the REST API stays JSON-only.
  void app.register(
    async (scope) => {
      scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 8 * 1024 }, (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      });

      const answer = (check: (fields: Fields) => Promise<Verdict> | Verdict, name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
        if (!isLoopback(request.socket.remoteAddress)) {
          return reply.code(403).type('text/plain').send('deny');
        }
        if (!isNode(request.headers.authorization)) {
          refusals?.(
            'warn',
            `broker-auth caller ${request.socket.remoteAddress ?? ''}`,
            { check: name, ip: request.socket.remoteAddress, reason: 'no valid node credentials' },
            'broker-auth request refused: only the RabbitMQ node started by `iotcloud broker start` may ask (HTTP Basic node:<secret> from its state folder)',
          );
          return reply.code(401).type('text/plain').send('deny');
        }
        const fields = (request.method === 'GET' ? request.query : request.body) as Fields | undefined;
        const verdict = await check(fields ?? {});
        if (!verdict.allow) {
          // A refused client may repeat itself as fast as it likes: the log is bounded per key.
          // Never log the password field: RabbitMQ forwards whatever the client sent.
          refusals?.(
            'warn',
            `broker ${name} ${verdict.logKey ?? fields?.username ?? ''}`,
            {
              check: name,
              username: fields?.username,
              name: fields?.name,
              routingKey: fields?.routing_key,
              permission: fields?.permission,
              clientId: fields?.client_id ?? fields?.['variable_map.client_id'],
              ip: fields?.ip,
              reason: verdict.reason,
            },
            'broker access denied',
          );
        }
        return reply.type('text/plain').send(verdict.allow ? 'allow' : 'deny');
      };

      const routes: [string, (fields: Fields) => Promise<Verdict> | Verdict][] = [
        ['user', (fields) => policy.user(fields)],
        ['vhost', (fields) => policy.vhost(fields)],
        ['resource', (fields) => policy.resource(fields)],
        ['topic', (fields) => policy.topic(fields)],
      ];
      for (const [name, check] of routes) {
        scope.route({ method: ['GET', 'POST'], url: `/${name}`, schema: { hide: true }, handler: answer(check, name) });
      }
    },
    { prefix },
  );
}

/** The decisions, without HTTP: each returns allow or deny with the reason for the log. */
export class BrokerAuthPolicy {
  private readonly vhostName: string;

  constructor(private readonly options: Pick<BrokerAuthOptions, 'authority' | 'serviceUser' | 'vhost'>) {
    this.vhostName = options.vhost ?? '/';
  }

  async user(fields: Fields): Promise<Verdict> {
    const username = fields.username;
    if (username === this.options.serviceUser) return deny('the service user logs in through the internal backend only', 'service user');
    if (username === 'guest') {
      return deny('there is no guest user on the iotcloud node: a device logs in with its certificate (AMQPS: SASL EXTERNAL; MQTTS: no username or password in CONNECT)', 'guest');
    }
    // Only a certificate login (MQTT without CONNECT credentials, AMQP EXTERNAL) reaches this
    // check without a password field. Any password, the empty one included, means the client
    // named a user itself: RabbitMQ 3.10 lets MQTT CONNECT credentials override the certificate,
    // and PLAIN carries no certificate link, so B's certificate could otherwise log in as A.
    if (fields.password !== undefined) return deny('a device logs in with its certificate only: a username and password (even an empty one) are refused; connect without them', 'password login');
    if (!isValidDeviceId(username)) return deny('username is not a device id', 'not a device id');
    const device = await this.options.authority.getDevice(username);
    if (!device) return deny('device is not registered');
    if (device.revoked) return deny('device was unregistered');
    return allow;
  }

  vhost(fields: Fields): Verdict {
    return this.identity(fields, fields.client_id) ?? allow;
  }

  resource(fields: Fields): Verdict {
    const refused = this.identity(fields, fields.client_id);
    if (refused) return refused;
    const device = fields.username!;
    const { resource, name, permission } = fields;
    if (resource === 'exchange') {
      return name === AMQP_EXCHANGE && (permission === 'read' || permission === 'write') ? allow : deny(`exchange ${name} ${permission} is not allowed`);
    }
    if (resource === 'queue') {
      const own = name === amqpDeviceQueue(device) || name === `mqtt-subscription-${device}qos0`;
      // No server-named `amq.gen-*` queues: RabbitMQ 3.10's AMQP 1.0 plugin makes them neither
      // exclusive nor auto-delete, so one device could read another's leftovers by name.
      return own && (permission === 'configure' || permission === 'read' || permission === 'write')
        ? allow
        : deny(`queue ${name} is not this device's`);
    }
    return deny(`resource kind ${resource} is not allowed`);
  }

  async topic(fields: Fields): Promise<Verdict> {
    const refused = this.identity(fields, fields['variable_map.client_id']);
    if (refused) return refused;
    const device = fields.username!;
    const key = fields.routing_key ?? '';
    if (fields.resource !== 'topic' || fields.name !== AMQP_EXCHANGE) return deny(`topic exchange ${fields.name} is not allowed`);
    if (fields.permission === 'read') {
      // The first word of a binding is literal (ids hold no '.', '*' or '#'), so `<id>.` matches
      // only this device's requests; one more word (a command, '*' or '#') bounds what a device
      // can make the node keep as a binding.
      const [id, word, ...rest] = key.split('.');
      return id === device && word !== undefined && (word === '#' || word === '*' || commandWord.test(word)) && rest.length === 0
        ? allow
        : deny(`may only subscribe to ${device}.# or ${device}.<command>`);
    }
    if (fields.permission === 'write') {
      const [prefix, id, command, ...rest] = key.split('.');
      if (!(prefix === RESPONSE_PREFIX && id === device && command !== undefined && commandWord.test(command) && rest.length === 0)) {
        return deny(`may only publish ${RESPONSE_PREFIX}.${device}.<command>`);
      }
      // Also asked when RabbitMQ publishes a will, possibly after the device was unregistered
      // (its connection closed by the server): a revoked device publishes nothing.
      const known = await this.options.authority.getDevice(device);
      return known && !known.revoked ? allow : deny('device is not registered or was unregistered');
    }
    return deny(`permission ${fields.permission} is not allowed`);
  }

  /** The checks every authorization request shares; undefined when they pass. */
  private identity(fields: Fields, clientId: string | undefined): Verdict | undefined {
    const username = fields.username;
    if (!isValidDeviceId(username)) return deny('username is not a device id');
    if (fields.vhost !== this.vhostName) return deny(`vhost ${fields.vhost} is not allowed`);
    // MQTT only: RabbitMQ takes the username from the certificate and the client id from
    // CONNECT, and would otherwise let one device speak under another's client id.
    if (clientId !== undefined && clientId !== username) return deny(`client id ${clientId} does not match the certificate CN ${username}`);
    return undefined;
  }
}

/** Compares digests, so neither the length nor the bytes of the secret leak through timing. */
function nodeCheck(user: string, secret: string): (authorization: string | undefined) => boolean {
  if (secret.length < 16) throw new Error('the broker-auth node secret must be at least 16 characters');
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const expected = digest(`Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`);
  return (authorization) => authorization !== undefined && timingSafeEqual(digest(authorization), expected);
}

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}
