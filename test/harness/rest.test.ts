/**
 * The REST target against a real iotcloud server (HTTPS with its own root CA, MQTTS devices):
 * the suite runs through the API, cases the API cannot exercise are not-applicable (never passed),
 * and the API's refusals map to setup errors and timeouts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevice, type SimulatedDevice } from '../../simulators/index.ts';
import { executeHarness, openRestTarget, runLoad, type CaseResult, type HarnessOptions, type RestTarget } from '../../harness/index.ts';
import type { DeviceRegistration, RestClient } from '../../rest-client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { captureOutput } from './fixtures.ts';

let server: TestServer;
let client: RestClient;
let online: DeviceRegistration;
let offline: DeviceRegistration;
let device: SimulatedDevice;

beforeAll(async () => {
  server = await startTestServer();
  client = await server.user();
  online = await client.registerDevice('bench board');
  offline = await client.registerDevice('unplugged board');
  device = await startDevice({
    transport: 'mqtt',
    url: server.server.mqttUrl,
    deviceId: online.deviceId,
    credentials: { caPem: online.rootCa, certPem: online.certificate, keyPem: online.privateKey },
    bootMs: 50,
  });
});

afterAll(async () => {
  await device?.stop();
  await server?.close();
});

function restTarget(deviceId: string, token = client.token!): HarnessOptions['target'] {
  return { kind: 'rest', baseUrl: server.server.apiUrl, token, deviceId, ca: server.server.rootCaPem };
}

async function harness(options: Partial<HarnessOptions> & Pick<HarnessOptions, 'target'>) {
  const output = captureOutput();
  const run = await executeHarness({ deadlineMs: 1000, output, tty: false, ...options });
  return { ...run, output: output.text() };
}

const statusOf = (cases: CaseResult[], id: string) => cases.find((result) => result.id === id)?.status;

describe('REST target', () => {
  it('runs the suite through the server: device behaviour passes, what the API hides is not-applicable', async () => {
    const run = await harness({ target: restTarget(online.deviceId) });
    const cases = run.report!.conformance!.cases;
    expect(cases.filter((result) => result.status === 'fail').map((result) => `${result.id}: ${result.message}`)).toEqual([]);
    expect(run.exitCode).toBe(0);
    for (const id of ['status.running', 'set_gpio.example', 'write_uart.boundary.data-max-length', 'gpio.set-get', 'rtc.advances', 'timing.deadline', 'reset.restarting-then-back']) {
      expect(statusOf(cases, id), id).toBe('pass');
    }
    const invalid = cases.find((result) => result.id === 'set_gpio.invalid.number-above-max')!;
    expect(invalid.status).toBe('not-applicable');
    expect(invalid.message).toContain('the server validated it and refused it before it reached the device');
    for (const id of ['hygiene.cid-echo', 'hygiene.malformed-json', 'hygiene.unknown-command', 'hygiene.no-foreign-topics']) expect(statusOf(cases, id), id).toBe('not-applicable');
    expect(run.report!.verdict).toMatch(/\d+ not applicable/);
    expect(run.report!.target.where).toBe(`REST ${server.server.apiUrl}, device ${online.deviceId}`);
  });

  it('maps answers: ok, server-side INVALID_PARAMS, timeout', async () => {
    const target: RestTarget = openRestTarget({ baseUrl: server.server.apiUrl, token: client.token!, deviceId: online.deviceId, ca: server.server.rootCaPem });
    try {
      const ok = await target.command('set_gpio', { number: 5, value: 1 }, 1000);
      expect(ok).toMatchObject({ status: 'ok', result: { number: 5, value: 1 }, httpStatus: 200 });
      const refused = await target.command('set_gpio', { number: 99, value: 1 }, 1000);
      expect(refused).toMatchObject({ status: 'device-error', source: 'server', httpStatus: 400, error: { code: 2, name: 'INVALID_PARAMS', field: '/number' } });
      const silent = openRestTarget({ baseUrl: server.server.apiUrl, token: client.token!, deviceId: offline.deviceId, ca: server.server.rootCaPem });
      expect(await silent.command('get_status', {}, 150)).toMatchObject({ status: 'timeout', httpStatus: 504 });
      await silent.close();
    } finally {
      await target.close();
    }
  });

  it('an answer that fails the spec is an invalid answer at once (502 INVALID_ANSWER), and the load runner counts it as such, not as a timeout', async () => {
    const wrong = await client.registerDevice('mistyped board');
    const board = await startDevice({
      transport: 'mqtt',
      url: server.server.mqttUrl,
      deviceId: wrong.deviceId,
      credentials: { caPem: wrong.rootCa, certPem: wrong.certificate, keyPem: wrong.privateKey },
      profile: 'malformed=1@types',
    });
    const target = openRestTarget({ baseUrl: server.server.apiUrl, token: client.token!, deviceId: wrong.deviceId, ca: server.server.rootCaPem });
    try {
      // A deadline beyond the test's timeout: only an answer settled on arrival passes.
      const outcome = await target.command('get_mac', {}, 60_000);
      expect(outcome).toMatchObject({ status: 'invalid-answer', httpStatus: 502, source: 'device' });
      if (outcome.status !== 'invalid-answer') return;
      expect(outcome.problem).toMatch(/^invalid get_mac response: \/value/); // the reason alone: showOutcome adds the answer
      expect(outcome.answer.payload).not.toBe('');
      const load = await runLoad([target], { mode: 'closed', command: 'get_mac', count: 5, timeoutMs: 60_000 });
      expect(load).toMatchObject({ sent: 5, invalidAnswers: 5, timeouts: 0, ok: 0 });
    } finally {
      await target.close();
      await board.stop();
    }
  });

  it('a registered device that is not connected: timeouts, exit 3, quickly', async () => {
    const startedAt = performance.now();
    const run = await harness({ target: restTarget(offline.deviceId), deadlineMs: 200 });
    expect(run.exitCode).toBe(3);
    expect(performance.now() - startedAt).toBeLessThan(5000);
    expect(run.report!.conformance!.cases[0]!.message).toContain('no answer within 200 ms');
  });

  it('a bad token is a setup error', async () => {
    const run = await harness({ target: restTarget(online.deviceId, 'not-a-token') });
    expect(run.exitCode).toBe(2);
    expect(run.output).toContain('HTTP 401');
  });

  it("someone else's device is a setup error", async () => {
    const stranger = await server.user();
    const run = await harness({ target: restTarget(online.deviceId, stranger.token!) });
    expect(run.exitCode).toBe(2);
    expect(run.output).toMatch(/HTTP 40[34]/);
  });

  it('an unreachable server is a setup error, not a hang', async () => {
    const run = await harness({ target: { kind: 'rest', baseUrl: 'https://127.0.0.1:1', token: 'x', deviceId: 'd1' }, deadlineMs: 200 });
    expect(run.exitCode).toBe(2);
    expect(run.output).toContain('cannot reach https://127.0.0.1:1');
  });
});
