/**
 * Two users in two browser contexts: the second never sees the first one's devices, neither on
 * the page nor over the live channel, not even by typing the first one's device URL or calling
 * the API with its own session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { startDevice } from '../../simulators/index.ts';
import { launchBrowser, type LaunchedBrowser } from '../../testkit/browser.ts';
import { seriousViolations, startConsoleServer, watchPage } from './support.ts';

let stack: Awaited<ReturnType<typeof startConsoleServer>>;
let browser: LaunchedBrowser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stack = await startConsoleServer();
  browser = await launchBrowser();
}, 180_000); // a server and a browser starting on a busy 2-core machine
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function signUp(username: string): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${stack.server.apiUrl}/`);
  await page.getByRole('button', { name: 'Create one' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('heading', { name: 'Devices' }).waitFor();
  return page;
}

/** Everything the page's own live channel receives, recorded from now on. */
async function recordLiveChannel(page: Page): Promise<() => Promise<string>> {
  await page.evaluate(() => {
    const record: string[] = [];
    (window as unknown as { liveRecord: string[] }).liveRecord = record;
    const source = new EventSource('/api/v1/live');
    for (const name of ['snapshot', 'presence', 'changes', 'metrics']) source.addEventListener(name, (event) => record.push(`${name} ${(event as MessageEvent<string>).data}`));
  });
  return () => page.evaluate(() => (window as unknown as { liveRecord: string[] }).liveRecord.join('\n'));
}

describe('console isolation', { timeout: 90_000 }, () => {
  it("a user never sees another user's devices, on the page or over the live channel", async () => {
    const alice = await signUp('iso-alice');
    const bob = await signUp('iso-bob');
    const bobWatch = watchPage(bob);
    const bobLive = await recordLiveChannel(bob);

    // Alice registers a device in her console; it connects and is commanded.
    await alice.getByRole('link', { name: 'Register a device' }).first().click();
    await alice.getByLabel(/^Name/).fill('alice secret board');
    const [answer] = await Promise.all([alice.waitForResponse((response) => response.url().endsWith('/api/v1/devices') && response.request().method() === 'POST'), alice.getByRole('button', { name: 'Register' }).click()]);
    const registration = (await answer.json()) as { deviceId: string; rootCa: string; certificate: string; privateKey: string };
    const deviceId = registration.deviceId;
    await alice.getByTestId('registered-id').getByText(deviceId).waitFor();
    const device = await startDevice({ transport: 'mqtt', url: stack.server.mqttUrl, deviceId, credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey } });
    try {
      await alice.getByRole('link', { name: 'Devices' }).click();
      await alice.locator(`tr[data-device-id="${deviceId}"]`).getByText('online').waitFor();
      await alice.goto(`${stack.server.apiUrl}/#/devices/${deviceId}`);
      await alice.locator('form[data-command="get_status"]').getByRole('button', { name: 'Send get_status' }).click();
      await alice.locator('form[data-command="get_status"]').getByTestId('answer').getByText('answer', { exact: true }).waitFor();
      // Bob's live channel has had time to hear about it: wait for two metrics events after the command.
      await bob.waitForFunction(() => (window as unknown as { liveRecord: string[] }).liveRecord.filter((line) => line.startsWith('metrics')).length >= 2);
    } finally {
      await device.stop();
    }

    await bob.getByText('No devices yet.').waitFor();
    expect(await bob.getByTestId('device-count').textContent()).toBe('0');
    await bob.goto(`${stack.server.apiUrl}/#/devices/${deviceId}`);
    await bob.getByRole('heading', { name: 'No such device' }).waitFor();
    expect(await bob.textContent('body')).not.toContain('alice secret board');
    expect(await seriousViolations(bob)).toEqual([]);

    // Bob's own session, used by hand against Alice's device: refused.
    const attempts = await bob.evaluate(async (id) => {
      const { csrfToken } = (await (await fetch('/api/v1/auth/session')).json()) as { csrfToken: string };
      const post = (path: string) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken }, body: '{}' }).then((r) => r.status);
      return {
        read: (await fetch(`/api/v1/devices/${id}`)).status,
        command: await post(`/api/v1/devices/${id}/commands/get_status`),
        conformance: await post(`/api/v1/devices/${id}/conformance`),
        remove: (await fetch(`/api/v1/devices/${id}`, { method: 'DELETE', headers: { 'x-csrf-token': csrfToken } })).status,
      };
    }, deviceId);
    expect(attempts).toEqual({ read: 403, command: 403, conformance: 403, remove: 403 });

    const heard = await bobLive();
    expect(heard).toContain('snapshot {"devices":[]}');
    expect(heard).not.toContain(deviceId);
    expect(heard).not.toContain('alice secret board');
    expect(heard).not.toMatch(/"connected":[1-9]/);
    expect(bobWatch.problems()).toEqual([]);
  });
});
