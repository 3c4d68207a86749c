/**
 * The emulated board when things go wrong: a broken firmware image (a HAL that answers the wrong
 * GPIO level) must fail with the failing cases named, and an emulator that dies mid-run must end
 * the run at once, the cause first, without running the remaining cases into their deadlines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceTargetOptions } from '../../cli/commands/harness.ts';
import { executeHarness } from '../../harness/index.ts';
import { qemuDut } from '../../cli/dut/qemu.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { buildImage, captureOutput } from './qemu-helpers.ts';

let dir: string;
let image: string;
let brokenImage: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-qemu-fail-test-'));
  [image, brokenImage] = await Promise.all([buildImage(join(dir, 'good')), buildImage(join(dir, 'broken'), '-DBROKEN_GPIO')]);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the emulated board through executeHarness', () => {
  let test: TestServer;
  let devices = 0;
  beforeAll(async () => {
    test = await startTestServer({ servicePort: 0 });
  }, 180_000); // PGlite's first open is seconds idle, a minute on a loaded machine
  afterAll(() => test?.close());

  async function setup(imagePath: string) {
    const client = await test.user();
    const registration = await client.registerDevice(`qemu-${devices++}`);
    const server = test.server;
    return {
      target: { kind: 'mqtt' as const, url: server.service!.url, deviceId: registration.deviceId, ...serviceTargetOptions(server.service!) },
      dut: () =>
        qemuDut({
          image: imagePath,
          deviceId: registration.deviceId,
          mqttUrl: server.mqttUrl,
          credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey },
        }),
    };
  }

  it('a broken image (get_gpio answers the wrong level) fails, naming the failing cases', async () => {
    const output = captureOutput();
    const run = await executeHarness({ ...(await setup(brokenImage)), only: ['gpio', 'get_gpio', 'status'], formats: ['junit'], reportDir: join(dir, 'broken', 'reports'), output, tty: false });
    expect(run.exitCode, output.text()).toBe(1);
    const failed = run.report!.conformance!.cases.filter((entry) => entry.status === 'fail').map((entry) => entry.id);
    expect(failed).toContain('gpio.set-get');
    expect(run.report!.verdict).toContain('gpio.set-get');
    expect(output.text()).toMatch(/FAIL gpio\.set-get/);
    const junit = await readFile(join(dir, 'broken', 'reports', 'harness-junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase name="gpio\.set-get"[^>]*>\s*<failure/);
  }, 60_000);

  it('an emulator that dies mid-run ends the run at once: the cause first, later cases not run', async () => {
    let qemuPid = 0;
    let killed = false;
    const output = captureOutput((text) => {
      // Power cut once the first case has passed.
      if (!killed && qemuPid && /\[\s*1\/\d+\] PASS/.test(text)) {
        killed = true;
        process.kill(qemuPid, 'SIGKILL');
      }
    });
    const { target, dut } = await setup(image);
    const run = await executeHarness({
      target,
      dut: async () => {
        const started = await dut();
        qemuPid = Number(/\(pid (\d+)\)/.exec(started.description)![1]);
        return started;
      },
      output,
      tty: false,
    });
    expect(killed).toBe(true);
    expect(run.exitCode).toBe(1);
    const cases = run.report!.conformance!.cases;
    const notRun = cases.filter((entry) => entry.message.startsWith('not run: the device under test failed: qemu-system-arm exited on its own (SIGKILL)'));
    // Everything after the case in flight failed without a single request: no slow timeouts.
    expect(notRun.length).toBeGreaterThan(cases.length - 4);
    expect(notRun.every((entry) => entry.requests === 0)).toBe(true);
    expect(run.report!.notes.join('\n')).toContain('the device under test failed: qemu-system-arm exited on its own (SIGKILL)');
    // Said on the console as it happened, before the summary.
    const text = output.text();
    const said = text.indexOf('harness: the device under test failed: qemu-system-arm exited on its own (SIGKILL)');
    expect(said).toBeGreaterThan(0);
    expect(said).toBeLessThan(text.search(/conformance: \d+ passed/));
  }, 60_000);
});
