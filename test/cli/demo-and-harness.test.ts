/** `npm start` (iotcloud demo) and `iotcloud harness`, run as a user runs them. */
import { describe, expect, it } from 'vitest';
import { conformanceSuite } from '../../harness/conformance/suite.ts';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { ReportIndex } from '../../harness/index.ts';
import { launchBrowser } from '../../testkit/browser.ts';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';

const run = promisify(execFile);

async function iotcloud(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [IOTCLOUD_BIN, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The suite's size, from the suite itself: a new case must not need an edit here. */
const SUITE_SIZE = conformanceSuite().length;

describe('iotcloud demo (npm start)', () => {
  it('starts the stack, passes conformance, reports latency, shows the URLs and stops cleanly on SIGINT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iotcloud-demo-'));
    const child = spawn(process.execPath, [IOTCLOUD_BIN, 'demo', '--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'data'), '--reports', join(dir, 'reports'), '--commands', '300', '--devices', '2'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Press Ctrl+C to stop.')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`demo exited early with ${code}:\n${output}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);

    expect(output).toMatch(new RegExp(`conformance: ${SUITE_SIZE} passed of ${SUITE_SIZE} cases`));
    expect(output).toMatch(/load: 300 sent, 300 ok/);
    // Two reports, one index: the terminal names it as the file to open.
    const indexHtml = join(dir, 'reports', 'index.html');
    expect(output).toContain(`\u2714 all 2 reports passed: open ${indexHtml}`);
    expect(output).toMatch(new RegExp(`reports\\s+${indexHtml.replaceAll('.', '\\.')} \\(conformance and latency`));
    expect(output).toMatch(/REST API\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/devices\s+mqtts:\/\/127\.0\.0\.1:\d+/);
    const junit = await readFile(join(dir, 'reports', 'conformance', 'harness-junit.xml'), 'utf8');
    expect(junit).toMatch(new RegExp(`<testsuite[^>]*tests="${SUITE_SIZE}"[^>]*failures="0"`));

    // index.json for machines: each report's verdict, counts and p50/p99, and where it is.
    const index = JSON.parse(await readFile(join(dir, 'reports', 'index.json'), 'utf8')) as ReportIndex;
    expect(index.exitCode).toBe(0);
    expect(index.reports.map((entry) => [entry.name, entry.passed, entry.html])).toEqual([
      ['conformance', true, 'conformance/harness-report.html'],
      ['latency', true, 'latency/harness-report.html'],
    ]);
    expect(index.reports[0]!.conformance!.summary).toBe(`${SUITE_SIZE} passed of ${SUITE_SIZE} cases`);
    expect(index.reports[1]!.load).toMatchObject({ sent: 300, ok: 300 });
    expect(index.reports[1]!.load!.latency.p99Ms).toBeGreaterThanOrEqual(index.reports[1]!.load!.latency.p50Ms);

    // index.html for people, in Chromium: no script, nothing loaded from outside, links that open the reports.
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext()).newPage();
      const requested: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      const url = pathToFileURL(indexHtml).href;
      await page.goto(url);
      expect(requested).toEqual([url]);
      expect(await page.locator('script').count()).toBe(0);
      expect(await page.locator('#verdict').innerText()).toBe('exit 0: all 2 reports passed');
      const conformanceRow = page.locator('#reports tr[data-name="conformance"]');
      expect(await conformanceRow.locator('td.status').innerText()).toBe('passed');
      expect(await conformanceRow.locator('td.figures').innerText()).toMatch(new RegExp(`^${SUITE_SIZE} passed of ${SUITE_SIZE} cases; answers p50 [\\d.]+ ms, p99 [\\d.]+ ms$`));
      expect(await page.locator('#reports tr[data-name="latency"] td.figures').innerText()).toMatch(/^load: 300 of 300 answered ok, [\d.]+\/s; p50 [\d.]+ ms, p99 [\d.]+ ms$/);
      await page.locator('#reports tr[data-name="latency"] a', { hasText: 'latency' }).click();
      expect(page.url()).toBe(pathToFileURL(join(dir, 'reports', 'latency', 'harness-report.html')).href);
      expect(await page.locator('#load').innerText()).toContain('300');
    } finally {
      await browser.close();
    }
    await rm(dir, { recursive: true, force: true });
  }, 120_000);
});

describe('iotcloud harness --embedded', () => {
  it('passes a well-behaved simulated device (exit 0) and fails a legacy one on the cid cases (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iotcloud-harness-cli-'));
    const good = await iotcloud(['harness', '--embedded', '--report-dir', 'r1', '--format', 'junit'], dir);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`every required case passed: ${SUITE_SIZE} passed of ${SUITE_SIZE} cases`));
    const legacy = await iotcloud(['harness', '--embedded', '--profile', 'legacy', '--format', 'json', '--format', 'html', '--report-dir', 'r2'], dir);
    expect(legacy.code).toBe(1);
    expect(legacy.stdout).toMatch(/required case\(s\) failed: hygiene\.cid-echo, hygiene\.cid-echo-on-error/);
    // The summary, read as a new user reads it: what failed first, the file to open and what the exit code means last.
    const summary = legacy.stdout.trimEnd().split('\n\n').at(-1)!.split('\n');
    expect(summary.slice(0, 2)).toEqual([expect.stringMatching(/^failed \(required\) hygiene\.cid-echo: sent get_status/), expect.stringMatching(/^failed \(required\) hygiene\.cid-echo-on-error: /)]);
    expect(summary.at(-1)).toBe(`open ${join(dir, 'r2', 'harness-report.html')} (exit 1 means a required case failed)`);
    const report = JSON.parse(await readFile(join(dir, 'r2', 'harness-report.json'), 'utf8')) as { exitCode: number };
    expect(report.exitCode).toBe(1);
    await rm(dir, { recursive: true, force: true });
  }, 90_000);

  it('--spawn runs the device under test as its own process with the credentials in its environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iotcloud-harness-spawn-'));
    const device = `"${process.execPath}" "${IOTCLOUD_BIN}" sim --device "$IOTCLOUD_DEVICE_ID" --url "$IOTCLOUD_MQTT_URL" --ca "$IOTCLOUD_CA" --cert "$IOTCLOUD_CERT" --key "$IOTCLOUD_KEY"`;
    const result = await iotcloud(['harness', '--embedded', '--spawn', device, '--only', 'gpio', '--only', 'reset', '--format', 'json'], dir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/started the device under test/);
    await rm(dir, { recursive: true, force: true });
  }, 90_000);

  it('bad flags: exit 2 with what to do', async () => {
    const neither = await iotcloud(['harness', '--device', 'd1'], tmpdir());
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/choose one target/);
    const badProfile = await iotcloud(['harness', '--embedded', '--profile', 'drop=7'], tmpdir());
    expect(badProfile.code).toBe(2);
    expect(badProfile.stderr).toMatch(/--profile/);
  });
});
