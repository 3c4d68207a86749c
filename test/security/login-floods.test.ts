/**
 * Findings 3 and 4 (engine-independent): parallel password guessing, username sprays, sign-up and
 * RSA-registration floods, against a real server over HTTPS. 127.0.0.2 and 127.0.0.3 act as other
 * client addresses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestClient } from '../../rest-client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { countStatuses, post } from './http-client.ts';

describe('attack: login, sign-up and registration floods', () => {
  let test: TestServer;
  let registrar: RestClient;
  let legacyOwner: RestClient;
  const api = (path: string, body: unknown, from?: string) => post(test.server.apiUrl, test.server.rootCaPem, path, body, from);

  beforeAll(async () => {
    // The address budget is 50 by default; 10 here keeps the number of scrypt runs (0.2 s each)
    // small. An address over budget still gets one try a second by default; once a minute here,
    // so the count of checked guesses does not depend on how fast this machine is today.
    test = await startTestServer({ loginLimits: { maxFailuresPerUser: 5, maxFailuresPerAddress: 10, windowMs: 60_000, overBudgetIntervalMs: 60_000 } });
    registrar = await test.user(); // logged in before the floods below
    legacyOwner = await test.user('legacyowner');
  }, 120_000);
  afterAll(async () => test?.close());

  it('200 parallel wrong-password logins for one user: only the per-user budget (5) is checked', async () => {
    await test.anonymous().signup('victim', 'the right password');
    const answers = await Promise.all(Array.from({ length: 200 }, () => api('/api/v1/auth/login', { username: 'victim', password: 'a wrong guess' })));
    const counts = countStatuses(answers);
    expect(counts[401] ?? 0, JSON.stringify(counts)).toBeLessThanOrEqual(5);
    expect((counts[429] ?? 0) + (counts[503] ?? 0)).toBe(200 - (counts[401] ?? 0));
    // The victim, from another address, is not locked out by it.
    expect((await api('/api/v1/auth/login', { username: 'victim', password: 'the right password' }, '127.0.0.2')).status).toBe(200);
  }, 60_000);

  it('200 usernames sprayed from one address: the address budget holds, and other users still log in', async () => {
    await test.anonymous().signup('colleague', 'colleague password');
    await test.anonymous().signup('elsewhere', 'elsewhere password');
    // The colleague has logged in from the shared address before the flood.
    expect((await api('/api/v1/auth/login', { username: 'colleague', password: 'colleague password' })).status).toBe(200);

    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => api('/api/v1/auth/login', { username: `sprayed${i}`, password: 'a wrong guess' })));
    const counts = countStatuses(answers);
    // At most the address budget is checked; the rest are refused unhashed: 429 over budget, or
    // 503 while the hashing queue is full (those are not counted against the budget).
    expect(counts[401] ?? 0, JSON.stringify(counts)).toBeLessThanOrEqual(11);
    expect((counts[429] ?? 0) + (counts[503] ?? 0), JSON.stringify(counts)).toBe(200 - (counts[401] ?? 0));
    // Sprayed again once the queue is idle: now the address budget answers.
    const again = countStatuses(await Promise.all(Array.from({ length: 20 }, (_, i) => api('/api/v1/auth/login', { username: `sprayed${i}`, password: 'a wrong guess' }))));
    expect((counts[401] ?? 0) + (again[401] ?? 0), JSON.stringify(again)).toBeLessThanOrEqual(12);

    expect((await api('/api/v1/auth/login', { username: 'colleague', password: 'colleague password' })).status).toBe(200);
    expect((await api('/api/v1/auth/login', { username: 'elsewhere', password: 'elsewhere password' }, '127.0.0.2')).status).toBe(200);
  }, 60_000);

  it('100 parallel sign-ups from one address: a burst of 10 is hashed, the rest refused at once', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => api('/api/v1/auth/signup', { username: `flood${i}`, password: 'a password' }, '127.0.0.3')));
    const counts = countStatuses(answers);
    expect(counts[201] ?? 0, JSON.stringify(counts)).toBeLessThanOrEqual(10);
    expect(counts[429] ?? 0, JSON.stringify(counts)).toBeGreaterThanOrEqual(90);
    const refused = answers.find((answer) => answer.status === 429)!;
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(refused.body).error.message).toMatch(/too many sign-ups from your address/);
  }, 60_000);

  it('30 parallel RSA-2048 registrations from one address: a burst of 10, the rest refused', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => registrar.send('POST', '/api/v1/devices', { name: `rsa${i}`, keyAlgorithm: 'rsa-2048' })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201).length, String(statuses)).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status === 429).length, String(statuses)).toBeGreaterThanOrEqual(20);
  }, 60_000);

  it('the original API shares those budgets: 30 parallel /signup and 30 /register_device (always RSA) from one address', async () => {
    const signups = await Promise.all(Array.from({ length: 30 }, (_, i) => api('/signup', { username: `legacy${i}`, password: 'a password' }, '127.0.0.4')));
    const signupCounts = countStatuses(signups);
    expect(signupCounts[429] ?? 0, JSON.stringify(signupCounts)).toBeGreaterThanOrEqual(20);

    const registrations = await Promise.all(
      Array.from({ length: 30 }, (_, i) => api('/register_device', { username: 'legacyowner', secret: legacyOwner.token, devicename: `old${i}` }, '127.0.0.5')),
    );
    const registrationCounts = countStatuses(registrations);
    expect(registrationCounts[429] ?? 0, JSON.stringify(registrationCounts)).toBeGreaterThanOrEqual(20);
  }, 60_000);
});
