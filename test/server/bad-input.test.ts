import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:https';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { RestClient } from '../../rest-client/index.ts';

type ErrorJson = { error: { name: string; field?: string; message: string } };

describe('bad input on every endpoint gets a clear 4xx and changes nothing', () => {
  let t: TestServer;
  let user: RestClient;
  let deviceId: string;

  beforeAll(async () => {
    t = await startTestServer();
    user = await t.user();
    deviceId = (await user.registerDevice('bench')).deviceId;
  });
  afterAll(() => t.close());

  const expectError = async (method: string, path: string, body: unknown, status: number, field?: string) => {
    const answer = await user.send(method, path, body);
    expect(answer.status, JSON.stringify(answer.json)).toBe(status);
    const json = answer.json as ErrorJson;
    expect(json.error.message.length).toBeGreaterThan(5);
    if (field) expect(json.error.field).toBe(field);
    return json;
  };

  it.each([
    ['missing password', { username: 'abc' }, '/password'],
    ['short password', { username: 'abcd', password: 'short' }, '/password'],
    ['numeric username', { username: 12345, password: 'long enough pw' }, '/username'],
    ['username with a slash', { username: 'a/b/c', password: 'long enough pw' }, '/username'],
    ['extra field', { username: 'abcd', password: 'long enough pw', admin: true }, '/admin'],
  ])('signup: %s -> 400 at the field', async (_what, body, field) => {
    await expectError('POST', '/api/v1/auth/signup', body, 400, field);
  });

  it('signup: duplicate username -> 409', async () => {
    await user.send('POST', '/api/v1/auth/signup', { username: 'twice', password: 'long enough pw' });
    await expectError('POST', '/api/v1/auth/signup', { username: 'twice', password: 'long enough pw' }, 409, '/username');
  });

  it.each([
    ['missing name', {}, '/name'],
    ['empty name', { name: '' }, '/name'],
    ['name with a control character', { name: 'a\u0000b' }, '/name'],
    ['device id with a wildcard', { name: 'x', deviceId: 'a+b' }, '/deviceId'],
    ['device id with a slash', { name: 'x', deviceId: 'a/b' }, '/deviceId'],
    ['unknown key type', { name: 'x', keyAlgorithm: 'dsa' }, '/keyAlgorithm'],
  ])('register: %s -> 400 at the field', async (_what, body, field) => {
    await expectError('POST', '/api/v1/devices', body, 400, field);
  });

  it('register: duplicate name -> 409 and duplicate device id -> 409', async () => {
    await expectError('POST', '/api/v1/devices', { name: 'bench' }, 409, '/name');
    await expectError('POST', '/api/v1/devices', { name: 'other', deviceId }, 409, '/deviceId');
  });

  it.each([
    ['string pin', 'get_gpio', { number: '3' }, '/number'],
    ['pin out of range', 'get_gpio', { number: 67 }, '/number'],
    ['missing level', 'set_gpio', { number: 1 }, '/value'],
    ['level 2', 'set_gpio', { number: 1, value: 2 }, '/value'],
    ['RTC negative', 'set_rtc', { value: -1 }, '/value'],
    ['UART too long', 'write_uart', { data: 'x'.repeat(257) }, '/data'],
    ['UART multibyte over the byte limit', 'write_uart', { data: 'é'.repeat(200) }, '/data'],
    ['extra field', 'get_mac', { verbose: true }, '/verbose'],
  ])('command: %s -> 400 at the field', async (_what, command, body, field) => {
    await expectError('POST', `/api/v1/devices/${deviceId}/commands/${command}`, body, 400, field);
  });

  it('command: unknown command -> 400 UNKNOWN_COMMAND listing the known ones', async () => {
    const json = await expectError('POST', `/api/v1/devices/${deviceId}/commands/format_flash`, {}, 400);
    expect(json.error.name).toBe('UNKNOWN_COMMAND');
    expect(json.error.message).toContain('get_gpio');
  });

  it('command: unknown device -> 404, invalid device id -> 400, bad timeout -> 400', async () => {
    await expectError('POST', '/api/v1/devices/dev-nope/commands/get_status', {}, 404);
    await expectError('POST', '/api/v1/devices/a.b/commands/get_status', {}, 400, '/deviceId');
    await expectError('POST', `/api/v1/devices/${deviceId}/commands/get_status?timeoutMs=0`, {}, 400);
    await expectError('POST', `/api/v1/devices/${deviceId}/commands/get_status?timeoutMs=abc`, {}, 400);
  });

  it('command to a registered device that is not connected, sent with ?wait=true -> 504 within the timeout, with a hint', async () => {
    // Without wait, a device offline for a while is refused at once (test/server/offline-device.test.ts).
    const waited = await expectError('POST', `/api/v1/devices/${deviceId}/commands/get_status?timeoutMs=200&wait=true`, undefined, 504);
    expect(waited.error.message).toMatch(/did not answer get_status within 200 ms/);
  });

  const raw = (path: string, body: string | Buffer, contentType = 'application/json') =>
    new Promise<{ status: number; json: ErrorJson }>((resolve, reject) => {
      const req = http.request(new URL(path, t.server.apiUrl), { method: 'POST', ca: t.server.rootCaPem, headers: { 'content-type': contentType, authorization: `Bearer ${user.token}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) as ErrorJson }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('malformed JSON -> 400 MALFORMED; a 1 MB body -> 413; a form-encoded body -> 415', async () => {
    const malformed = await raw('/api/v1/devices', '{"name":');
    expect([malformed.status, malformed.json.error.name]).toEqual([400, 'MALFORMED']);
    const huge = await raw('/api/v1/devices', Buffer.alloc(1024 * 1024, 0x20));
    expect([huge.status, huge.json.error.name]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const text = await raw('/api/v1/devices', 'name=x', 'application/x-www-form-urlencoded');
    expect(text.status).toBe(415);
  });

  it('nothing was created by the bad requests', async () => {
    expect((await user.listDevices()).devices.map((d) => d.name)).toEqual(['bench']);
  });

  it('unknown route -> 404 pointing at the OpenAPI document; the document lists every command', async () => {
    await expectError('GET', '/api/v1/nothing', undefined, 404);
    const spec = (await user.request<{ paths: Record<string, unknown> }>('GET', '/api/v1/openapi.json')).paths;
    expect(Object.keys(spec)).toContain('/api/v1/devices/{deviceId}/commands/set_gpio');
    expect(Object.keys(spec)).toContain('/api/v1/auth/login');
  });
});
