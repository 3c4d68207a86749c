/** What the console's browser tests share: a server with the harness wired in, axe, screenshots, CSP watch. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../server/server.ts';
import type { ServerConfig } from '../../server/config.ts';
import { harnessConformanceRunner } from '../../cli/console-conformance.ts';

export async function startConsoleServer(overrides: Partial<ServerConfig> = {}): Promise<{ server: RunningServer; close(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'iotcloud-console-'));
  const server = await startServer({ apiPort: 0, mqttPort: 0, dataDir, ...overrides }, pino({ level: process.env.IOTCLOUD_TEST_LOG ?? 'silent' }), { conformanceRunner: harnessConformanceRunner });
  if (!server.consoleBuilt) throw new Error('the console is not built: run `npm run build:console` first (npm install does it)');
  return {
    server,
    async close() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) does not apply to it.
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: unknown[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** Collects CSP violations and uncaught page errors; `problems()` lists them. */
export function watchPage(page: Page): { problems(): string[] } {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of (401|403|404|409|504|400)/.test(message.text())) problems.push(`console error: ${message.text()}`);
  });
  return { problems: () => problems };
}

/** Screenshots go to reports/console/ (IOTCLOUD_SCREENSHOTS=docs/images refreshes the README's). */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(process.env.IOTCLOUD_SCREENSHOTS ?? 'reports/console', `console-${name}.png`), fullPage });
}
