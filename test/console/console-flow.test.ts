/**
 * The web console end to end in real headless Chromium: sign up, register a device and download
 * its credentials, watch it come online without a reload, command it, see a timeout, run
 * conformance and open the report, unregister. Every page passes axe with no serious violation
 * and raises no CSP violation or script error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { credentialFilesIn, loadCredentials } from '../../device-link/index.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/index.ts';
import { launchBrowser, type LaunchedBrowser } from '../../testkit/browser.ts';
import { screenshot, seriousViolations, startConsoleServer, watchPage } from './support.ts';

let stack: Awaited<ReturnType<typeof startConsoleServer>>;
let browser: LaunchedBrowser;
let context: BrowserContext;
let page: Page;
let watch: ReturnType<typeof watchPage>;
let device: SimulatedDevice | undefined;
let downloads: string;

beforeAll(async () => {
  stack = await startConsoleServer();
  browser = await launchBrowser();
  context = await browser.newContext();
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  watch = watchPage(page);
  downloads = await mkdtemp(join(tmpdir(), 'iotcloud-downloads-'));
}, 180_000); // a server and a browser starting on a busy 2-core machine

afterAll(async () => {
  await device?.stop();
  await browser?.close();
  await stack?.close();
  if (downloads) await rm(downloads, { recursive: true, force: true });
});

async function expectAccessible(name: string): Promise<void> {
  await screenshot(page, name);
  expect(await seriousViolations(page), `axe on the ${name} page`).toEqual([]);
}

describe('web console', { timeout: 60_000 }, () => {
  it('serves the page with a strict CSP and the session in an HttpOnly cookie', async () => {
    const response = await page.goto(`${stack.server.apiUrl}/`);
    expect(response!.status()).toBe(200);
    const csp = response!.headers()['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    await page.getByRole('heading', { name: 'Log in to iotcloud' }).waitFor();
    await expectAccessible('login');

    await page.getByRole('button', { name: 'Create one' }).click();
    await page.getByLabel('Username').fill('console-alice');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();

    const cookies = await context.cookies();
    const session = cookies.find((cookie) => cookie.name === '__Host-iotcloud_session')!;
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate(() => document.cookie)).toBe(''); // scripts cannot read it
    expect(await page.evaluate(() => JSON.stringify(localStorage))).toBe('{}');
  });

  it('registers a device, downloads its credentials, and shows it online without a reload', async () => {
    await page.getByRole('link', { name: 'Register a device' }).first().click();
    await page.getByLabel(/^Name/).fill('lab <b>board</b>'); // rendered as text, never as markup
    await expectAccessible('register');
    await page.getByRole('button', { name: 'Register' }).click();
    const deviceId = (await page.getByTestId('registered-id').textContent())!;
    expect(deviceId).toMatch(/^dev-/);
    await page.getByText(`iotcloud sim --device ${deviceId} --url ${stack.server.mqttUrl} --dir .`).waitFor();
    await expectAccessible('registered');
    for (const name of ['rootca.pem', `${deviceId}_cert.pem`, `${deviceId}_pkey.pem`]) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: `Download ${name}` }).click()]);
      await download.saveAs(join(downloads, download.suggestedFilename()));
    }

    await page.getByRole('link', { name: 'Devices' }).click();
    const row = page.locator(`tr[data-device-id="${deviceId}"]`);
    await row.getByText('offline').waitFor();
    expect(await row.locator('a').textContent()).toBe('lab <b>board</b>');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42)); // gone if the page reloads

    device = await startDevice({ transport: 'mqtt', url: stack.server.mqttUrl, deviceId, credentials: await loadCredentials(credentialFilesIn(downloads, deviceId)) });
    await row.getByText('online').waitFor();
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await expectAccessible('devices');
  });

  it('sends commands from forms generated from the spec, checks them before sending, logs answers with their round trip', async () => {
    await page.locator('table.devices a').first().click();
    await page.getByTestId('device-state').getByText('online').waitFor();
    const setGpio = page.locator('form[data-command="set_gpio"]');
    await setGpio.getByLabel('number').fill('99');
    await setGpio.getByLabel('value').selectOption('1');
    await setGpio.getByRole('button', { name: 'Send set_gpio' }).click();
    await setGpio.getByText('Not sent: number must be at most 66').waitFor();
    expect(await page.getByTestId('command-log').locator('li').count()).toBe(0);

    await setGpio.getByLabel('number').fill('3');
    await setGpio.getByRole('button', { name: 'Send set_gpio' }).click();
    await setGpio.getByTestId('answer').getByText('answer', { exact: true }).waitFor();
    expect(await setGpio.getByTestId('answer').textContent()).toMatch(/\{"number":3,"value":1\} \(\d+(\.\d+)? ms\)/);

    const getGpio = page.locator('form[data-command="get_gpio"]');
    await getGpio.getByLabel('number').fill('3');
    await getGpio.getByRole('button', { name: 'Send get_gpio' }).click();
    await getGpio.getByTestId('answer').getByText('answer', { exact: true }).waitFor();
    expect(await getGpio.getByTestId('answer').textContent()).toContain('{"number":3,"value":1}');
    const log = page.getByTestId('command-log').locator('li');
    expect(await log.count()).toBe(2);
    expect(await log.first().textContent()).toMatch(/get_gpio.*answer.*ms device round trip/);
    await expectAccessible('device');
  });

  it('runs conformance from the device page and opens the report', async () => {
    await page.getByRole('button', { name: 'Run conformance' }).click();
    const result = page.getByTestId('conformance-result');
    await result.waitFor({ timeout: 120_000 });
    expect(await result.textContent()).toMatch(/\d+ passed, 0 failed, \d+ not applicable/);
    const [report] = await Promise.all([context.waitForEvent('page'), result.getByRole('link', { name: 'Open the report' }).click()]);
    await report.waitForLoadState();
    expect(await report.title()).toContain(device!.deviceId);
    expect(await report.textContent('body')).toContain('get_gpio');
    await screenshot(report, 'conformance-report', false);
    await report.close();
  }, 150_000);

  it('shows a timeout for a stopped device, and it going offline', async () => {
    await device!.stop();
    device = undefined;
    await page.getByTestId('device-state').getByText('offline').waitFor();
    await page.getByLabel('Answer timeout (ms)').fill('300');
    await page.getByLabel(/Send even when the device is offline/).check(); // else a device gone for a while is refused at once (409)
    await page.locator('form[data-command="get_status"]').getByRole('button', { name: 'Send get_status' }).click();
    await page.locator('form[data-command="get_status"]').getByTestId('answer').getByText('timeout', { exact: true }).waitFor();
    expect(await page.getByTestId('command-log').locator('li').first().textContent()).toMatch(/get_status.*timeout.*TIMEOUT: device .* did not answer get_status within 300 ms/);
  });

  it('shows live metrics', async () => {
    await page.getByRole('link', { name: 'Live metrics' }).click();
    await page.locator('.uplot').first().waitFor();
    expect(await page.locator('.uplot').count()).toBe(3);
    await page.getByText(/of 1 devices connected/).waitFor();
    await expectAccessible('metrics');
  });

  it('unregisters the device', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.locator('table.devices a').first().click();
    await page.getByRole('button', { name: 'Unregister…' }).click();
    await page.getByRole('button', { name: /^Yes, unregister/ }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await page.getByText('No devices yet.').waitFor();
    expect(await page.getByTestId('device-count').textContent()).toBe('0');
    expect(watch.problems()).toEqual([]);
  });
});
