/**
 * Headless Chromium for tests and benchmarks: Debian's /usr/bin/chromium driven by playwright-core
 * (no browser download), quiet and offline flags. Playwright gives every launch a fresh profile
 * (user data dir) and every context its own cookies and storage, so two users never share a session.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.IOTCLOUD_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export interface LaunchedBrowser {
  browser: Browser;
  /** A fresh context (its own cookies) that accepts the test server's certificate (self-signed root). */
  newContext(options?: { viewport?: { width: number; height: number } }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<LaunchedBrowser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: run scripts/setup-system.sh (Debian package chromium) or set IOTCLOUD_CHROMIUM`);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_FLAGS });
  return {
    browser,
    newContext: (options = {}) => browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: options.viewport ?? { width: 1280, height: 900 } }),
    close: () => browser.close(),
  };
}
