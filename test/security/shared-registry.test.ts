/**
 * Finding 5: two servers sharing one PostgreSQL registry. A logout or an unregister on one must
 * be seen by the other promptly (it cached the token and the device for 5 s, and answered for
 * them meanwhile); they tell each other with LISTEN/NOTIFY.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestClient } from '../../rest-client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ADMIN_URL = process.env.IOTCLOUD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Well under the 5 s the caches kept a stale answer before. */
const PROMPTLY_MS = 2500;

/** Asks until `done` holds or PROMPTLY_MS has passed; the last status. */
async function statusSoon(ask: () => Promise<number>, done: (status: number) => boolean): Promise<number> {
  const deadline = Date.now() + PROMPTLY_MS;
  let status = await ask();
  while (!done(status) && Date.now() < deadline) status = await ask();
  return status;
}

describe('attack: a stale session or device on another server instance', () => {
  const database = `iotcloud_sec_${randomBytes(4).toString('hex')}`;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(ADMIN_URL);
    url.pathname = `/${database}`;
    a = await startTestServer({ databaseUrl: url.toString() });
    b = await startTestServer({ databaseUrl: url.toString() });
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin.end();
  });

  it('an unregister and a logout on server A are seen by server B at once', async () => {
    const onA = await a.user();
    const onB = new RestClient({ baseUrl: b.server.apiUrl, caPem: b.server.rootCaPem, token: onA.token! });
    const device = await onA.registerDevice('shared');
    const deviceOnB = async () => (await onB.send('GET', `/api/v1/devices/${device.deviceId}`)).status;
    expect(await deviceOnB()).toBe(200); // B now holds the token and the device in its caches

    await onA.unregisterDevice(device.deviceId);
    expect(await statusSoon(deviceOnB, (status) => status === 404)).toBe(404);

    const listOnB = async () => (await onB.send('GET', '/api/v1/devices')).status;
    expect(await listOnB()).toBe(200);
    await onA.request('POST', '/api/v1/auth/logout');
    expect(await statusSoon(listOnB, (status) => status === 401)).toBe(401);
    onB.close();
  }, 60_000);
});
