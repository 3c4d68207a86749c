/**
 * The console's server side without a browser: static files and their headers, the session
 * cookie and its CSRF token, the live channel (SSE), /metrics, conformance reports, and the page
 * that says how to build a console that is not built.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevice } from '../../simulators/index.ts';
import { loadConsoleFiles, registerConsoleStatic } from '../../server/web/static.ts';
import { ServerMetrics } from '../../server/metrics/metrics.ts';
import { registerMetricsRoute } from '../../server/metrics/routes.ts';
import { startConsoleServer } from './support.ts';
import { openEvents, request } from './http.ts';

let stack: Awaited<ReturnType<typeof startConsoleServer>>;
let base: string;
let ca: string;

beforeAll(async () => {
  stack = await startConsoleServer();
  base = stack.server.apiUrl;
  ca = stack.server.rootCaPem;
}, 180_000); // a server starting on a busy 2-core machine
afterAll(async () => {
  await stack?.close();
});

const credentials = (username: string) => ({ username, password: 'correct horse battery' });

async function bearerUser(username: string): Promise<{ authorization: string }> {
  expect((await request(`${base}/api/v1/auth/signup`, ca, { method: 'POST', body: credentials(username) })).status).toBe(201);
  const login = await request(`${base}/api/v1/auth/login`, ca, { method: 'POST', body: credentials(username) });
  return { authorization: `Bearer ${login.json<{ token: string }>().token}` };
}

async function cookieUser(username: string): Promise<{ cookie: string; csrf: string }> {
  expect((await request(`${base}/api/v1/auth/signup`, ca, { method: 'POST', body: credentials(username) })).status).toBe(201);
  const session = await request(`${base}/api/v1/auth/session`, ca, { method: 'POST', body: credentials(username) });
  expect(session.status).toBe(200);
  const setCookie = String(session.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: session.json<{ csrfToken: string }>().csrfToken };
}

describe('console static files', () => {
  it('serves the page and its assets with a strict CSP, security headers, compression and caching', async () => {
    const page = await request(`${base}/`, ca, { headers: { 'accept-encoding': 'identity' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(page.headers['content-security-policy']);
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'"]) expect(csp).toContain(directive);
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache' });
    expect(page.headers['strict-transport-security']).toBeDefined();
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(page.body)![1]!;
    const asset = await request(`${base}${script}`, ca, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-encoding']).toBe('br');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const again = await request(`${base}${script}`, ca, { headers: { 'if-none-match': String(asset.headers.etag) } });
    expect(again.status).toBe(304);
  });

  it('says how to build the console when it is not built', async () => {
    const app = Fastify();
    registerConsoleStatic(app, loadConsoleFiles(join(tmpdir(), 'no-console-here')), true);
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('npm run build:console');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    await app.close();
  });
});

describe('console session cookie', () => {
  it('is __Host-, HttpOnly, Secure, SameSite=Strict, and unsafe requests with it need the CSRF token', async () => {
    const { cookie, csrf } = await cookieUser('cookie-carol');
    const session = await request(`${base}/api/v1/auth/session`, ca, { headers: { cookie } });
    expect(session.json()).toEqual({ csrfToken: csrf });
    const login = await request(`${base}/api/v1/auth/session`, ca, { method: 'POST', body: credentials('cookie-carol') });
    expect(String(login.headers['set-cookie'])).toMatch(/^__Host-iotcloud_session=[A-Za-z0-9_-]+; Path=\/; Secure; HttpOnly; SameSite=Strict; Expires=/);

    expect((await request(`${base}/api/v1/devices`, ca, { headers: { cookie } })).status).toBe(200); // a safe method needs no CSRF token
    const forged = await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: { cookie }, body: { name: 'forged' } });
    expect(forged.status).toBe(403);
    expect(forged.json<{ error: { message: string } }>().error.message).toContain('x-csrf-token');
    const wrong = await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: { cookie, 'x-csrf-token': `${csrf.slice(1)}A` }, body: { name: 'forged' } });
    expect(wrong.status).toBe(403);
    const made = await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf }, body: { name: 'real' } });
    expect(made.status).toBe(201);
    // Another session's CSRF token does not fit this one.
    const other = await cookieUser('cookie-dave');
    expect((await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: { cookie, 'x-csrf-token': other.csrf }, body: { name: 'x' } })).status).toBe(403);

    expect((await request(`${base}/api/v1/auth/session`, ca, { method: 'DELETE', headers: { cookie } })).status).toBe(403);
    const logout = await request(`${base}/api/v1/auth/session`, ca, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
    expect(logout.status).toBe(204);
    expect(String(logout.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await request(`${base}/api/v1/devices`, ca, { headers: { cookie } })).status).toBe(401);
  });
});

describe('live channel', () => {
  it('needs a session, sends a snapshot of the caller\'s devices, then their presence and registrations', async () => {
    const anonymous = openEvents(`${base}/api/v1/live`, ca, {});
    await expect.poll(() => anonymous.status()).toBe(401);
    anonymous.close();

    const user = await bearerUser('live-erin');
    const first = await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: user, body: { name: 'first' } });
    const registration = first.json<{ deviceId: string; rootCa: string; certificate: string; privateKey: string }>();
    const live = openEvents(`${base}/api/v1/live`, ca, user);
    try {
      const snapshot = JSON.parse(await live.next('snapshot')) as { devices: { deviceId: string; online: boolean }[] };
      expect(snapshot.devices).toEqual([expect.objectContaining({ deviceId: registration.deviceId, name: 'first', online: false })]);

      const device = await startDevice({ transport: 'mqtt', url: stack.server.mqttUrl, deviceId: registration.deviceId, credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey } });
      try {
        const presence = JSON.parse(await live.next('presence')) as [string, boolean, number][];
        expect(presence.at(-1)!.slice(0, 2)).toEqual([registration.deviceId, true]);
        expect((await request(`${base}/api/v1/devices/${registration.deviceId}/commands/get_status`, ca, { method: 'POST', headers: user, body: {} })).status).toBe(200);
        let metrics: { connected: number; commandsPerSecond: number; p50Ms: number | null };
        do metrics = JSON.parse(await live.next('metrics'));
        while (metrics.commandsPerSecond === 0);
        expect(metrics.connected).toBe(1);
        expect(metrics.p50Ms).toBeGreaterThan(0);
      } finally {
        await device.stop();
      }
      const second = await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: user, body: { name: 'second' } });
      const changes = JSON.parse(await live.next('changes')) as { kind: string; device: { deviceId: string } }[];
      expect(changes).toEqual([{ kind: 'registered', device: expect.objectContaining({ deviceId: second.json<{ deviceId: string }>().deviceId, name: 'second' }) }]);
    } finally {
      live.close();
    }
  });
});

describe('/metrics', () => {
  it('answers loopback clients in Prometheus text format with the device and command series', async () => {
    const user = await bearerUser('metrics-frank');
    const made = (await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: user, body: { name: 'metered' } })).json<{ deviceId: string; rootCa: string; certificate: string; privateKey: string }>();
    const device = await startDevice({ transport: 'mqtt', url: stack.server.mqttUrl, deviceId: made.deviceId, credentials: { caPem: made.rootCa, certPem: made.certificate, keyPem: made.privateKey } });
    try {
      const before = await request(`${base}/metrics`, ca);
      const count = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      await request(`${base}/api/v1/devices/${made.deviceId}/commands/get_status`, ca, { method: 'POST', headers: user, body: {} });
      await request(`${base}/api/v1/devices/${made.deviceId}/commands/get_status?timeoutMs=1`, ca, { method: 'POST', headers: user, body: {} }).catch(() => undefined);
      const after = await request(`${base}/metrics`, ca);
      expect(after.status).toBe(200);
      expect(after.headers['content-type']).toContain('text/plain');
      expect(after.body).toContain('# TYPE iotcloud_devices_connected gauge');
      expect(after.body).toContain('# TYPE iotcloud_command_duration_seconds histogram');
      expect(after.body).toContain('# TYPE iotcloud_registry_operation_duration_seconds histogram');
      expect(count(after.body, 'iotcloud_devices_connected')).toBeGreaterThanOrEqual(1);
      expect(count(after.body, 'iotcloud_device_connects_total')).toBeGreaterThanOrEqual(1);
      expect(count(after.body, 'iotcloud_commands_total{outcome="ok"}') - count(before.body, 'iotcloud_commands_total{outcome="ok"}')).toBeGreaterThanOrEqual(1);
      expect(count(after.body, 'iotcloud_command_duration_seconds_count') - count(before.body, 'iotcloud_command_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(count(after.body, 'iotcloud_registry_operation_duration_seconds_count{operation="register"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await device.stop();
    }
  });

  it('refuses clients beyond loopback unless a token is set, then asks every client for it', async () => {
    const metrics = new ServerMetrics(() => 0);
    const open = Fastify();
    registerMetricsRoute(open, { metrics });
    expect((await open.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    expect((await open.inject({ url: '/metrics', remoteAddress: '::ffff:127.0.0.1' })).statusCode).toBe(200);
    const remote = await open.inject({ url: '/metrics', remoteAddress: '203.0.113.7' });
    expect(remote.statusCode).toBe(403);
    expect(remote.body).toContain('--metrics-token-file');

    const guarded = Fastify();
    registerMetricsRoute(guarded, { metrics, token: 'a-long-scrape-token-1234' });
    expect((await guarded.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode).toBe(401);
    expect((await guarded.inject({ url: '/metrics', remoteAddress: '203.0.113.7', headers: { authorization: 'Bearer a-long-scrape-token-1235' } })).statusCode).toBe(401);
    const scraped = await guarded.inject({ url: '/metrics', remoteAddress: '203.0.113.7', headers: { authorization: 'Bearer a-long-scrape-token-1234' } });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.body).toContain('iotcloud_commands_total{outcome="ok"} 0');
    await open.close();
    await guarded.close();
  });
});

describe('conformance reports', () => {
  it('belong to the user who ran them', async () => {
    const owner = await bearerUser('report-gina');
    const made = (await request(`${base}/api/v1/devices`, ca, { method: 'POST', headers: owner, body: { name: 'tested' } })).json<{ deviceId: string; rootCa: string; certificate: string; privateKey: string }>();
    const device = await startDevice({ transport: 'mqtt', url: stack.server.mqttUrl, deviceId: made.deviceId, credentials: { caPem: made.rootCa, certPem: made.certificate, keyPem: made.privateKey } });
    try {
      const other = await bearerUser('report-hank');
      expect((await request(`${base}/api/v1/devices/${made.deviceId}/conformance`, ca, { method: 'POST', headers: other })).status).toBe(403);
      const run = await request(`${base}/api/v1/devices/${made.deviceId}/conformance`, ca, { method: 'POST', headers: owner });
      expect(run.status).toBe(200);
      const { reportId, failed } = run.json<{ reportId: string; failed: number }>();
      expect(failed).toBe(0);
      const report = await request(`${base}/api/v1/reports/${reportId}`, ca, { headers: owner });
      expect(report.status).toBe(200);
      expect(report.headers['content-security-policy']).toContain('sandbox');
      expect(report.body).toContain(made.deviceId);
      expect((await request(`${base}/api/v1/reports/${reportId}`, ca, { headers: other })).status).toBe(404);
    } finally {
      await device.stop();
    }
  }, 90_000);
});

