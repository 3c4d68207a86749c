/** `npm start` (iotcloud demo) and `iotcloud harness`, run as a user runs them. */
import { describe, expect, it } from 'vitest';
import { conformanceSuite } from '../../harness/conformance/suite.ts';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
    expect(output).toMatch(/every required conformance case passed/);
    expect(output).toMatch(/REST API\s+https:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/devices\s+mqtts:\/\/127\.0\.0\.1:\d+/);
    const junit = await readFile(join(dir, 'reports', 'conformance', 'harness-junit.xml'), 'utf8');
    expect(junit).toMatch(new RegExp(`<testsuite[^>]*tests="${SUITE_SIZE}"[^>]*failures="0"`));
    await rm(dir, { recursive: true, force: true });
  }, 90_000);
});

describe('iotcloud harness --embedded', () => {
  it('passes a well-behaved simulated device (exit 0) and fails a legacy one on the cid cases (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iotcloud-harness-cli-'));
    const good = await iotcloud(['harness', '--embedded', '--report-dir', 'r1', '--format', 'junit'], dir);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`every required case passed: ${SUITE_SIZE} passed of ${SUITE_SIZE} cases`));
    const legacy = await iotcloud(['harness', '--embedded', '--profile', 'legacy', '--format', 'json', '--report-dir', 'r2'], dir);
    expect(legacy.code).toBe(1);
    expect(legacy.stdout).toMatch(/required case\(s\) failed: hygiene\.cid-echo, hygiene\.cid-echo-on-error/);
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
