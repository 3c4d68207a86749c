/**
 * The web console in headless Chromium against `iotcloud up` (its own process), while a fleet
 * (`iotcloud fleet`, its own process) registers and connects CONSOLE_DEVICES devices (default
 * 10,000) of the logged-in user. Figures:
 *
 *   console_first_load_js_br_bytes     JavaScript of the first page load, as transferred (brotli)
 *   console_first_load_br_bytes        everything of the first load (HTML, JS, CSS), as transferred
 *   console_first_contentful_paint_ms  navigation to first paint of the sign-in page
 *   console_signed_in_render_ms        "Log in" clicked to the devices page drawn
 *   console_longest_task_provisioning_ms  longest main-thread task while the devices are registered
 *   console_longest_task_connecting_ms longest main-thread task while they connect (target < 100)
 *   console_max_frame_gap_ms           longest gap between animation frames while they connect
 *   console_reload_render_ms           a reload with every device online: navigation to the full list drawn
 *   fleet_connects_per_s               how fast the fleet connected meanwhile
 *   console_metric_cost_per_command_us what /metrics and the live channel add to one command (in process)
 *
 * Long tasks come from the browser's Long Tasks API (tasks of 50 ms or more; 0 when none). Exits
 * 1 when the longest task while connecting is 100 ms or more. Env: CONSOLE_DEVICES, CONSOLE_RATE
 * (fleet connects/s, default 500).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { IOTCLOUD_BIN } from '../testkit/up-process.ts';
import { LiveHub, type LiveStream } from '../server/live/hub.ts';
import { ServerMetrics } from '../server/metrics/metrics.ts';
import { launchBrowser } from '../testkit/browser.ts';
import { printMetric } from './report.ts';
import { startBenchStack } from './stack.ts';

const DEVICES = Number(process.env.CONSOLE_DEVICES ?? 10_000);
const RATE = Number(process.env.CONSOLE_RATE ?? 500);
const LONG_TASK_TARGET_MS = 100;

await metricCostPerCommand();

const stack = await startBenchStack({ startTimeoutMs: 180_000 });
const browser = await launchBrowser();
let fleet: ReturnType<typeof spawn> | undefined;
let exitCode = 0;
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(600_000);
  await page.goto(`${stack.up.apiUrl}/`);
  await page.getByRole('heading', { name: 'Log in to iotcloud' }).waitFor();
  const firstLoad = await page.evaluate(() => {
    const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
    const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const js = resources.filter((r) => r.name.endsWith('.js')).reduce((sum, r) => sum + r.encodedBodySize, 0);
    const all = resources.reduce((sum, r) => sum + r.encodedBodySize, navigation.encodedBodySize);
    const paint = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN;
    return { js, all, paint };
  });
  printMetric('console_first_load_js_br_bytes', firstLoad.js, 'bytes');
  printMetric('console_first_load_br_bytes', firstLoad.all, 'bytes');
  printMetric('console_first_contentful_paint_ms', firstLoad.paint, 'ms');

  await page.getByLabel('Username').fill('bench');
  await page.getByLabel('Password').fill('bench password');
  const clicked = performance.now();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Devices' }).waitFor();
  printMetric('console_signed_in_render_ms', performance.now() - clicked, 'ms');

  // A string, not a function: tsx would wrap named functions in a helper the page does not have.
  await page.evaluate(`(() => {
    const watch = { longest: 0, maxGap: 0, last: performance.now() };
    window.watch = watch;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) watch.longest = Math.max(watch.longest, entry.duration);
    }).observe({ type: 'longtask' });
    function frame(now) {
      watch.maxGap = Math.max(watch.maxGap, now - watch.last);
      watch.last = now;
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
  })()`);
  const resetWatch = () => page.evaluate(() => Object.assign((window as unknown as { watch: { longest: number; maxGap: number; last: number } }).watch, { longest: 0, maxGap: 0, last: performance.now() }));
  const readWatch = () => page.evaluate(() => ({ ...(window as unknown as { watch: { longest: number; maxGap: number } }).watch }));

  // The fleet registers its devices through the REST API as the same user, then connects them.
  fleet = spawn(process.execPath, [IOTCLOUD_BIN, 'fleet', '--server', stack.up.apiUrl, '--ca', stack.up.caCertPath, '--user', 'bench', '--password', 'bench password', '--devices', String(DEVICES), '--rate', String(RATE), '--json', '--json-interval', '1', '--provision-concurrency', '16'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let connectingSince: number | undefined;
  let provisioningLongest = 0;
  let connectedAt: number | undefined;
  for await (const line of createInterface({ input: fleet.stdout! })) {
    let progress: { type: string; phase: string; connected: number; provisioned: number };
    try {
      progress = JSON.parse(line);
    } catch {
      continue;
    }
    if (progress.type !== 'progress' && progress.type !== 'summary') continue; // the fleet's device lines (which profile each runs)
    if (progress.phase !== 'provisioning' && connectingSince === undefined) {
      provisioningLongest = (await readWatch()).longest;
      await resetWatch();
      connectingSince = performance.now();
    }
    if (progress.connected >= DEVICES) {
      connectedAt = performance.now();
      break;
    }
  }
  if (connectingSince === undefined || connectedAt === undefined) throw new Error('the fleet ended before every device connected (its stderr above says why)');
  await page.getByTestId('online-count').getByText(String(DEVICES), { exact: true }).waitFor(); // the page has caught up
  const connecting = await readWatch();
  printMetric('console_longest_task_provisioning_ms', provisioningLongest, 'ms');
  printMetric('console_longest_task_connecting_ms', connecting.longest, 'ms');
  printMetric('console_max_frame_gap_ms', connecting.maxGap, 'ms');
  printMetric('fleet_connects_per_s', DEVICES / ((connectedAt - connectingSince) / 1000), '/s');

  const reloaded = performance.now();
  await page.reload();
  await page.getByTestId('online-count').getByText(String(DEVICES), { exact: true }).waitFor();
  printMetric('console_reload_render_ms', performance.now() - reloaded, 'ms');

  if (connecting.longest >= LONG_TASK_TARGET_MS) {
    console.error(`console: the longest main-thread task while ${DEVICES} devices connected was ${Math.round(connecting.longest)} ms, over the ${LONG_TASK_TARGET_MS} ms target`);
    exitCode = 1;
  }
} finally {
  fleet?.kill('SIGINT');
  if (fleet && fleet.exitCode === null) await new Promise((resolve) => fleet!.once('exit', resolve));
  await browser.close();
  await stack.close();
}
process.exit(exitCode);

/** What ServerMetrics.command and LiveHub.command cost per command, one user watching 1,000 devices. */
async function metricCostPerCommand(): Promise<void> {
  const devices = Array.from({ length: 1000 }, (_, i) => ({ deviceId: `dev-${i}`, name: `d${i}`, fingerprint: '', createdAt: '', lastSeenAt: null, online: true }));
  const hub = new LiveHub({ listDevices: async () => devices, view: () => devices[0]!, metricsIntervalMs: 1000 });
  const sink: LiveStream = { write: () => true, writableLength: 0, end: () => undefined };
  await hub.open('user', sink);
  const metrics = new ServerMetrics(() => 0);
  const outcomes = devices.map((d) => ({ status: 'ok' as const, deviceId: d.deviceId, command: 'get_status', cid: 'c', result: {}, elapsedMs: 1.5 }));
  const rounds = 2_000_000;
  const run = (observe: boolean) => {
    const start = process.hrtime.bigint();
    let sum = 0;
    for (let i = 0; i < rounds; i++) {
      const outcome = outcomes[i % outcomes.length]!;
      sum += outcome.elapsedMs;
      if (observe) {
        metrics.command(outcome);
        hub.command(outcome);
      }
    }
    if (sum < 0) console.log(sum);
    return Number(process.hrtime.bigint() - start) / rounds / 1000;
  };
  run(true); // warm up
  const best = Math.min(...[1, 2, 3].map(() => run(true) - run(false)));
  hub.stop();
  printMetric('console_metric_cost_per_command_us', best, 'us');
}
