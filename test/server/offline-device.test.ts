/**
 * A command to a device the server knows is offline is refused at once with when it was last seen,
 * instead of waiting out the timeout; a device seen moments ago, or one asked for with wait, is sent to.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDevice, type SimulatedDevice } from '../../simulators/index.ts';
import type { DeviceRegistration, RestClient } from '../../rest-client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** `strict` refuses an offline device at once; `graceful` keeps the default grace for devices seen moments ago. */
let strict: TestServer;
let graceful: TestServer;
const devices: SimulatedDevice[] = [];
beforeAll(async () => {
  [strict, graceful] = await Promise.all([startTestServer({ offlineGraceMs: 0 }), startTestServer()]);
}, 120_000);
afterEach(async () => {
  for (const device of devices.splice(0)) await device.stop();
});
afterAll(async () => {
  await strict?.close();
  await graceful?.close();
});

const credentialsOf = (registration: DeviceRegistration) => ({ caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey });

async function online(client: RestClient, deviceId: string, wanted: boolean): Promise<{ lastSeenAt: string | null }> {
  // Poll the API a user would look at until presence (and its stored last-seen time) has caught up.
  for (;;) {
    const device = (await client.listDevices()).devices.find((entry) => entry.deviceId === deviceId)!;
    if (device.online === wanted && device.lastSeenAt) return device as { lastSeenAt: string };
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('commands to offline devices', () => {
  it('a device stopped earlier: 409 DEVICE_OFFLINE at once, naming when it was last seen', async () => {
    const client = await strict.user();
    const registration = await client.registerDevice('gone');
    const device = await startDevice({ transport: 'mqtt', url: registration.mqttUrl, deviceId: registration.deviceId, credentials: credentialsOf(registration) });
    expect((await client.command(registration.deviceId, 'get_status')).result).toEqual({ status: 'running' });
    await device.stop();
    const { lastSeenAt } = await online(client, registration.deviceId, false);

    // A 30 s timeout: had the server waited it out, the test would time out instead of reading 409.
    const answer = await client.send('POST', `/api/v1/devices/${registration.deviceId}/commands/get_status?timeoutMs=30000`, {});
    expect(answer.status).toBe(409);
    const error = (answer.json as { error: { name: string; message: string } }).error;
    expect(error.name).toBe('DEVICE_OFFLINE');
    expect(error.message).toContain(`is offline since ${lastSeenAt}`);
    expect(error.message).toContain('iotcloud cmd --wait');
  });

  it('a device seen moments ago (resetting, reconnecting) is not refused: its command is sent and waited for', async () => {
    const client = await graceful.user();
    const registration = await client.registerDevice('restarting');
    const device = await startDevice({ transport: 'mqtt', url: registration.mqttUrl, deviceId: registration.deviceId, credentials: credentialsOf(registration) });
    await device.stop();
    await online(client, registration.deviceId, false);
    const answer = await client.send('POST', `/api/v1/devices/${registration.deviceId}/commands/get_status?timeoutMs=200`, {});
    expect(answer.status).toBe(504);
  });

  it('with ?wait=true (CLI --wait) a command goes out to a device offline for a while', async () => {
    const client = await strict.user();
    const registration = await client.registerDevice('asked-for');
    const answer = await client.send('POST', `/api/v1/devices/${registration.deviceId}/commands/get_status?timeoutMs=200&wait=true`, {});
    expect(answer.status).toBe(504);
  });
});
