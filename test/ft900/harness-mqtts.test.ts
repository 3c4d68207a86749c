/**
 * The conformance suite against the reference firmware core on the original LWIP-MQTT path:
 * `iotcloud harness --embedded --spawn "ft900-host --mqtt ..."`, exactly as the README tells a
 * firmware developer to run it. All the suite's cases run (raw payloads included) and must pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conformanceSuite } from '../../harness/conformance/suite.ts';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';

const firmwareDir = fileURLToPath(new URL('../../ft900/firmware/', import.meta.url));

function run(command: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** The suite's size, from the suite itself: a new case must not need an edit here. */
const SUITE_SIZE = conformanceSuite().length;

describe('iotcloud harness against ft900-host over direct MQTTS', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-ft900-harness-'));
    // Its own build folder: other test files may be running make at the same time.
    const build = await run('make', ['-j2', '-C', firmwareDir, `BUILD=${join(dir, 'build')}`, `${join(dir, 'build')}/ft900-host`], dir);
    expect(build.code, build.stderr).toBe(0);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('passes every required case, with a JUnit report CI can show', async () => {
    const host = join(dir, 'build', 'ft900-host');
    const spawn = `"${host}" --mqtt "$IOTCLOUD_MQTT_URL" --device "$IOTCLOUD_DEVICE_ID" --ca "$IOTCLOUD_CA" --cert "$IOTCLOUD_CERT" --key "$IOTCLOUD_KEY"`;
    const result = await run(process.execPath, [IOTCLOUD_BIN, 'harness', '--embedded', '--device', 'ft900device1', '--spawn', spawn, '--report-dir', 'reports', '--format', 'junit'], dir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`conformance: ${SUITE_SIZE} passed of ${SUITE_SIZE} cases`));
    const junit = await readFile(join(dir, 'reports', 'harness-junit.xml'), 'utf8');
    expect(junit).toMatch(new RegExp(`<testsuite[^>]*tests="${SUITE_SIZE}"[^>]*failures="0"`));
  }, 120_000);
});
