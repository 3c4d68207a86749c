/** The broker-auth endpoints without a broker: the requests RabbitMQ 3.10 sends, and the answers. */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBrokerAuthRoutes } from '../../server/api/broker-auth-routes.ts';

const devices = new Map<string, { revoked: boolean }>([
  ['dev1', { revoked: false }],
  ['dev2', { revoked: false }],
  ['gone', { revoked: true }],
]);
const service = '_iotcloud-server';
const nodeSecret = 'a-node-secret-of-the-state-folder';
const nodeAuthorization = `Basic ${Buffer.from(`node:${nodeSecret}`).toString('base64')}`;
let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify() as unknown as FastifyInstance;
  registerBrokerAuthRoutes(app, { authority: { getDevice: async (id) => devices.get(id) ?? null }, serviceUser: service, node: { user: 'node', secret: nodeSecret } });
  await app.ready();
});
afterAll(() => app.close());

/** What RabbitMQ's HTTP backend sends: a form-encoded POST (auth_http.http_method = post). */
async function ask(path: string, fields: Record<string, string>, remoteAddress = '127.0.0.1', authorization: string | undefined = nodeAuthorization): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: `/api/v1/broker-auth/${path}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization === undefined ? {} : { authorization }) },
    payload: new URLSearchParams(fields).toString(),
    remoteAddress,
  });
  return response.body;
}

const topic = (username: string, permission: string, routingKey: string, clientId = username) =>
  ask('topic', { username, vhost: '/', resource: 'topic', name: 'amq.topic', permission, tags: '', routing_key: routingKey, 'variable_map.client_id': clientId, 'variable_map.username': username, 'variable_map.vhost': '/' });
const resource = (username: string, kind: string, name: string, permission: string) =>
  ask('resource', { username, vhost: '/', resource: kind, name, permission, tags: '', client_id: username });

describe('user: who may log in', () => {
  it('a registered device, by certificate (no password)', async () => {
    expect(await ask('user', { username: 'dev1' })).toBe('allow');
  });

  it('refuses unknown and unregistered devices', async () => {
    expect(await ask('user', { username: 'nobody' })).toBe('deny');
    expect(await ask('user', { username: 'gone' })).toBe('deny');
  });

  it('refuses a password (someone trying a name) and the service user (internal backend only)', async () => {
    expect(await ask('user', { username: 'dev1', password: 'x' })).toBe('deny');
    // What RabbitMQ 3.10 sends for MQTT CONNECT credentials or SASL PLAIN with an empty password
    // (issue 15: another device's certificate plus the victim's name); a certificate login has no password field.
    expect(await ask('user', { username: 'dev1', password: '' })).toBe('deny');
    expect(await ask('user', { username: 'guest', password: 'guest' })).toBe('deny');
    expect(await ask('user', { username: service, password: 'whatever' })).toBe('deny');
  });

  it('refuses names that are not device ids', async () => {
    for (const username of ['', 'a.b', 'a/b', '#', 'guest ', '-x']) expect(await ask('user', { username })).toBe('deny');
  });

  it('answers GET with a query string too (auth_http.http_method = get)', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/broker-auth/user?username=dev1', headers: { authorization: nodeAuthorization } });
    expect(response.body).toBe('allow');
  });
});

describe('vhost: right after login, with the MQTT client id', () => {
  it('allows the one vhost when client id = username', async () => {
    expect(await ask('vhost', { username: 'dev1', vhost: '/', ip: '127.0.0.1', tags: '', client_id: 'dev1' })).toBe('allow');
    expect(await ask('vhost', { username: 'dev1', vhost: '/', ip: '127.0.0.1', tags: '' })).toBe('allow'); // AMQP: no client id
  });

  it("refuses another device's client id and other vhosts", async () => {
    expect(await ask('vhost', { username: 'dev1', vhost: '/', ip: '127.0.0.1', tags: '', client_id: 'dev2' })).toBe('deny');
    expect(await ask('vhost', { username: 'dev1', vhost: 'other', ip: '127.0.0.1', tags: '', client_id: 'dev1' })).toBe('deny');
  });
});

describe('resource: queues and exchanges', () => {
  it("allows the device's own subscription queue and amq.topic", async () => {
    for (const permission of ['configure', 'read', 'write']) expect(await resource('dev1', 'queue', 'mqtt-subscription-dev1qos1', permission)).toBe('allow');
    expect(await resource('dev1', 'queue', 'mqtt-subscription-dev1qos0', 'configure')).toBe('allow');
    expect(await resource('dev1', 'exchange', 'amq.topic', 'read')).toBe('allow');
    expect(await resource('dev1', 'exchange', 'amq.topic', 'write')).toBe('allow');
  });

  it("refuses other devices' queues, other exchanges and exchange configure", async () => {
    expect(await resource('dev1', 'queue', 'mqtt-subscription-dev2qos1', 'read')).toBe('deny');
    expect(await resource('dev1', 'queue', 'anything', 'configure')).toBe('deny');
    // Server-named queues outlive AMQP 1.0 links on 3.10 and could be read by any device by name.
    for (const permission of ['configure', 'read', 'write']) expect(await resource('dev1', 'queue', 'amq.gen-JzTY20BRgKO-HjmUJj0wLg', permission)).toBe('deny');
    expect(await resource('dev1', 'exchange', 'amq.rabbitmq.event', 'read')).toBe('deny');
    expect(await resource('dev1', 'exchange', 'amq.direct', 'write')).toBe('deny');
    expect(await resource('dev1', 'exchange', 'amq.topic', 'configure')).toBe('deny');
  });
});

describe('topic: routing keys on amq.topic', () => {
  it('reads only its own requests', async () => {
    expect(await topic('dev1', 'read', 'dev1.#')).toBe('allow');
    expect(await topic('dev1', 'read', 'dev1.get_gpio')).toBe('allow');
    expect(await topic('dev1', 'read', 'dev2.#')).toBe('deny');
    expect(await topic('dev1', 'read', '#')).toBe('deny');
    expect(await topic('dev1', 'read', '*.get_gpio')).toBe('deny');
    expect(await topic('dev1', 'read', 'server.dev1.get_gpio')).toBe('deny');
    // Issue 15: bindings a device can make the node keep are short.
    expect(await topic('dev1', 'read', 'dev1.*')).toBe('allow');
    expect(await topic('dev1', 'read', `dev1.${'a'.repeat(6000)}`)).toBe('deny');
    expect(await topic('dev1', 'read', 'dev1.a.b.c')).toBe('deny');
  });

  it('writes only its own answers, one command word', async () => {
    expect(await topic('dev1', 'write', 'server.dev1.get_gpio')).toBe('allow');
    expect(await topic('dev1', 'write', 'server.dev2.get_gpio')).toBe('deny');
    expect(await topic('dev1', 'write', 'dev2.set_gpio')).toBe('deny');
    expect(await topic('dev1', 'write', 'server.dev1')).toBe('deny');
    expect(await topic('dev1', 'write', 'server.dev1.a.b')).toBe('deny');
  });

  it('an unregistered device publishes nothing, not even its will after the server closed its connection', async () => {
    expect(await topic('gone', 'write', 'server.gone.get_status')).toBe('deny');
    expect(await topic('nobody', 'write', 'server.nobody.get_status')).toBe('deny');
  });

  it('refuses when the client id is not the username', async () => {
    expect(await topic('dev1', 'read', 'dev1.#', 'dev2')).toBe('deny');
  });
});

describe('callers', () => {
  it('answers the node only: any other local process (no or a wrong Basic secret) gets 401 and deny', async () => {
    const wrong = `Basic ${Buffer.from('node:not-the-secret').toString('base64')}`;
    for (const authorization of [undefined, wrong, `Basic ${Buffer.from(`guest:${nodeSecret}`).toString('base64')}`, nodeSecret]) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/broker-auth/user',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization === undefined ? {} : { authorization }) },
        payload: 'username=dev1',
      });
      expect(response.statusCode).toBe(401);
      expect(response.body).toBe('deny');
    }
    expect(await ask('user', { username: 'dev1' })).toBe('allow');
  });

  it('answers loopback only', async () => {
    expect(await ask('user', { username: 'dev1' }, '10.1.2.3')).toBe('deny');
    expect(await ask('user', { username: 'dev1' }, '::1')).toBe('allow');
    expect(await ask('user', { username: 'dev1' }, '::ffff:127.0.0.1')).toBe('allow');
  });
});

describe('refusal log', () => {
  it('logs refusals with the reason, bounded: password logins share one allowance however many names they claim', async () => {
    const lines: { username?: string; reason?: string }[] = [];
    const record = (fields: object) => void lines.push(fields);
    const logger = { info: record, debug: record, warn: record, error: record, child: () => logger };
    const logged = Fastify() as unknown as FastifyInstance;
    registerBrokerAuthRoutes(logged, { authority: { getDevice: async (id) => devices.get(id) ?? null }, serviceUser: service, node: { user: 'node', secret: nodeSecret }, logger: logger as never });
    await logged.ready();
    const login = (username: string, password?: string) =>
      logged.inject({ method: 'POST', url: '/api/v1/broker-auth/user', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: nodeAuthorization }, payload: new URLSearchParams({ username, ...(password === undefined ? {} : { password }) }).toString() });
    for (let i = 0; i < 50; i++) expect((await login(i % 2 ? 'dev1' : `invented${i}`, '')).body).toBe('deny');
    expect((await login('guest', 'guest')).body).toBe('deny');
    expect((await login('gone')).body).toBe('deny');
    await logged.close();
    const refusals = lines.filter((line) => line.reason !== undefined);
    expect(refusals.filter((line) => /certificate only/.test(line.reason!))).toHaveLength(5);
    expect(JSON.stringify(lines)).not.toContain('"password"');
    expect(refusals.find((line) => line.username === 'guest')).toMatchObject({ reason: expect.stringMatching(/no guest user.*EXTERNAL/) });
    expect(refusals.find((line) => line.username === 'gone')).toMatchObject({ reason: 'device was unregistered' });
  });
});
