/**
 * The original libpyiotcloud routes (server/legacy-api/) in process: GET bodies, the shared login
 * limiter, malformed bodies, the switch, and that they run over the same registry and bus as
 * /api/v1 (a device registered on one API is commanded through the other).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { startDevice, type SimulatedDevice } from '../../simulators/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Legacy = { status: string } & Record<string, unknown>;

describe('original API routes', () => {
  let server: TestServer;
  let device: SimulatedDevice | undefined;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await device?.stop();
    await server.close();
  });

  /** Like the original client (Python's http.client): the body with its Content-Length, on GET too. */
  const raw = (method: string, path: string, text: string | undefined) =>
    new Promise<{ status: number; json: Legacy; headers: IncomingHttpHeaders }>((resolve, reject) => {
      const headers: Record<string, string | number> = text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
      const req = request(new URL(path, server.server.apiUrl), { method, ca: server.server.rootCaPem, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(body) as Legacy, headers: res.headers }));
      });
      req.on('error', reject);
      req.end(text);
    });
  const call = (method: string, path: string, body: unknown) => raw(method, path, body === undefined ? undefined : JSON.stringify(body));

  it('reads JSON bodies on GET, and a device registered on /api/v1 is commanded through the original routes', async () => {
    const v1 = await server.user('ada');
    const registration = await v1.registerDevice('bench board');
    device = await startDevice({ transport: 'mqtt', url: registration.mqttUrl, deviceId: registration.deviceId, credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey } });
    const login = await call('POST', '/login', { username: 'ada', password: 'correct horse battery' });
    const secret = login.json.secret as string;
    const list = await call('GET', '/get_device_list', { username: 'ada', secret });
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ status: 'OK', devices: [{ devicename: 'bench board', deviceid: registration.deviceId, online: true }] });
    expect((await call('POST', '/set_gpio', { username: 'ada', secret, devicename: 'bench board', number: 3, value: 1 })).json).toEqual({ status: 'OK', number: 3, value: 1 });
    expect((await v1.command(registration.deviceId, 'get_gpio', { number: 3 })).result).toEqual({ number: 3, value: 1 });
    expect((await call('GET', '/get_gpio', { username: 'ada', secret, devicename: 'bench board', number: 3 })).json).toEqual({ status: 'OK', number: 3, value: 1 });
  });

  it('a GET without a body is refused in the original shape, not crashed on', async () => {
    const answer = await call('GET', '/get_device_list', undefined);
    expect(answer.status).toBe(200);
    expect(answer.json.status).toMatch(/^NG, missing parameter username/);
  });

  it('a body that is not JSON is answered 400 with NG and the reason', async () => {
    const answer = await raw('POST', '/login', '{"username":');
    expect(answer.status).toBe(400);
    expect(answer.json.status).toMatch(/^NG, request body is not JSON/);
  });

  it('failed logins on either API count together: the original /login cannot be used to go on guessing', async () => {
    await server.user('grace');
    for (let i = 0; i < 5; i++) {
      const wrong = await call('POST', '/login', { username: 'grace', password: `wrong password ${i}` });
      expect(wrong.json.status).toBe('NG, wrong username or password');
    }
    const v1 = await server.anonymous().send('POST', '/api/v1/auth/login', { username: 'grace', password: 'correct horse battery' });
    expect(v1.status).toBe(429);
    const legacy = await call('POST', '/login', { username: 'grace', password: 'correct horse battery' });
    expect(legacy.status).toBe(429);
    expect(legacy.json.status).toMatch(/^NG, too many failed logins; try again in \d+ s/);
    expect(legacy.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('signup applies the /api/v1 account rules', async () => {
    expect((await call('POST', '/signup', { username: 'x', password: 'correct horse battery' })).json.status).toMatch(/^NG, username must be 3-64/);
    expect((await call('POST', '/signup', { username: 'shorty', password: 'short' })).json.status).toMatch(/^NG, password must be at least 8/);
  });
});

describe('--no-legacy-api', () => {
  it('leaves the root routes unserved (404) and /api/v1 as it is', async () => {
    const server = await startTestServer({ legacyApi: false });
    try {
      expect((await server.anonymous().send('POST', '/signup', { username: 'ada', password: 'correct horse battery' })).status).toBe(404);
      expect((await server.anonymous().send('POST', '/api/v1/auth/signup', { username: 'ada', password: 'correct horse battery' })).status).toBe(201);
    } finally {
      await server.close();
    }
  });
});
