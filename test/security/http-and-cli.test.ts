/**
 * Finding 5 (engine-independent): slowloris on the REST API, a JSON body declared in another
 * charset, expired sessions left in the registry, and `register --out` writing through a planted
 * symbolic link.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';
import { openStore } from '../../server/registry/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { request } from './http-client.ts';

const run = promisify(execFile);

describe('attack: HTTP clients that never finish, odd charsets, leftovers', () => {
  let test: TestServer;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-sec-'));
    test = await startTestServer();
  }, 120_000);
  afterAll(async () => {
    await test?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('50 slowloris connections (a header byte every half second) are all closed by the server', async () => {
    const url = new URL(test.server.apiUrl);
    const sockets = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: test.server.rootCaPem, servername: 'localhost' });
        socket.on('error', () => {}); // the server is expected to cut us off
        await new Promise((resolve) => (socket.once('secureConnect', resolve), socket.once('close', resolve)));
        socket.write('GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n');
        const drip = setInterval(() => socket.destroyed || socket.write('X'), 500);
        socket.once('close', () => clearInterval(drip));
        return socket;
      }),
    );
    // Resolves only when the server has closed every one of them (the test's timeout is the bound).
    await Promise.all(sockets.map((socket) => (socket.destroyed ? undefined : new Promise((resolve) => socket.once('close', resolve)))));
    expect(sockets.every((socket) => socket.destroyed)).toBe(true);
  }, 45_000);

  it('a JSON body declared as UTF-16 is refused with 415, not parsed', async () => {
    const body = Buffer.from(JSON.stringify({ username: 'x', password: 'whatever password' }), 'utf16le').toString('latin1');
    const answer = await request(test.server.apiUrl, test.server.rootCaPem, 'POST', '/api/v1/auth/login', { body, contentType: 'application/json; charset=utf-16' });
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.body).error.message).toMatch(/UTF-8/);
    const utf8 = await request(test.server.apiUrl, test.server.rootCaPem, 'POST', '/api/v1/auth/login', {
      body: JSON.stringify({ username: 'nobody-here', password: 'whatever password' }),
      contentType: 'application/json; charset=UTF-8',
    });
    expect(utf8.status).toBe(401);
  });

  it('expired sessions are deleted from the registry, not only ignored', async () => {
    const dataDir = join(dir, 'sweep');
    const first = await startTestServer({ tokenTtlMs: 1 }, dataDir);
    await first.user('sweeper'); // signs up and logs in: one session, expired at once
    for (let i = 0; i < 2; i++) await first.anonymous().login('sweeper', 'correct horse battery');
    await first.close();
    const second = await startTestServer({}, dataDir); // sweeps when it starts (and every 5 minutes)
    await second.close();
    const store = await openStore({ dataDir: join(dataDir, 'registry') });
    try {
      expect(await store.deleteExpiredSessions(new Date()), 'expired sessions still stored').toBe(0);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('register --out does not write the private key through a symbolic link planted at <id>_pkey.pem', async () => {
    const env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home'), IOTCLOUD_SERVER: test.server.apiUrl, IOTCLOUD_CA: test.server.caCertPath };
    const iotcloud = (...args: string[]) =>
      run(process.execPath, [IOTCLOUD_BIN, ...args], { env, cwd: dir }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    expect((await iotcloud('signup', 'planted', '--password', 'correct horse battery')).code).toBe(0);
    expect((await iotcloud('login', 'planted', '--password', 'correct horse battery')).code).toBe(0);
    await mkdir(join(dir, 'shared'));
    const victimFile = join(dir, 'victim.txt');
    await writeFile(victimFile, 'precious\n');
    await symlink(victimFile, join(dir, 'shared', 'ft900planted_pkey.pem'));
    const registered = await iotcloud('register', 'planted board', '--device-id', 'ft900planted', '--out', 'shared');
    expect(await readFile(victimFile, 'utf8')).toBe('precious\n');
    expect(registered.code).not.toBe(0);
    expect(registered.stderr).toMatch(/symbolic link/);
  }, 120_000);
});
