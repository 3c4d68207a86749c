/**
 * Firmware in the loop: the reference firmware's core built for QEMU's lm3s6965evb (Cortex-M3),
 * booted under qemu-system-arm and bridged over its UART pty, through the whole conformance suite
 * with `iotcloud harness --embedded --qemu IMAGE`, as a firmware developer runs it. The failure
 * cases (a broken image, the emulator dying) are in qemu-failures.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';
import { conformanceSuite, type RunReport } from '../../harness/index.ts';
import { buildImage, run } from './qemu-helpers.ts';

let dir: string;
let image: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-qemu-test-'));
  image = await buildImage(join(dir, 'good'));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));
describe('iotcloud harness --embedded --qemu', () => {
  it('passes every conformance case on the emulated MCU, reset included: the board really reboots', async () => {
    const result = await run(process.execPath, [IOTCLOUD_BIN, 'harness', '--embedded', '--qemu', image, '--report-dir', 'reports', '--format', 'json', '--format', 'junit'], join(dir, 'good'));
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const total = conformanceSuite().length;
    expect(result.stdout).toContain(`conformance: ${total} passed of ${total} cases`);
    expect(result.stdout).toMatch(/booted .*firmware\.elf on qemu-system-arm lm3s6965evb/);
    const report = JSON.parse(await readFile(join(dir, 'good', 'reports', 'harness-report.json'), 'utf8')) as RunReport;
    expect(report.conformance?.cases.find((entry) => entry.id === 'reset.restarting-then-back')?.status).toBe('pass');
    const notes = report.notes.join('\n');
    // SYSRESETREQ rebooted the core: QEMU saw a guest reset, the board booted a second time and
    // said HELLO again on the line.
    expect(notes).toMatch(/guest resets: [1-9]/);
    expect(notes).toMatch(/device \S+ boot 0/);
    expect(notes).toMatch(/device \S+ boot 1/);
    expect(notes).toMatch(/HELLO \S+/);
    const junit = await readFile(join(dir, 'good', 'reports', 'harness-junit.xml'), 'utf8');
    expect(junit).toContain('board console (UART1)');
  }, 240_000);
});
