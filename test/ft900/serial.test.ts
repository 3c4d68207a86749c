/**
 * `iotcloud harness --embedded --serial PORT`: a board on a serial line, as a real FT900 on a
 * USB-serial cable would be. Here the line is a socat pty pair and the board is ft900-host (the
 * same core and link loop as the firmware image); the harness bridges the other end, runs
 * `--flash` first, and puts the flash output and the board's line into the report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IOTCLOUD_BIN } from '../../testkit/up-process.ts';
import { conformanceSuite, executeHarness, type RunReport } from '../../harness/index.ts';
import { serialDut } from '../../cli/dut/serial.ts';
import { PtyPair } from '../../testkit/serial-line.ts';
import { captureOutput, firmwareDir, run } from './qemu-helpers.ts';

let dir: string;
let pair: PtyPair;
let board: ChildProcess;
let boardLog = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-serial-test-'));
  const build = join(dir, 'build');
  const made = await run('make', ['-C', firmwareDir, `BUILD=${build}`, 'MQTT=0', `${build}/ft900-host`], dir);
  expect(made.code, made.stderr).toBe(0);
  pair = await PtyPair.start(join(dir, 'board-tty'), join(dir, 'usb-serial'));
  board = spawn(join(build, 'ft900-host'), ['--serial', pair.a, '--device', 'ft900serial1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  board.stderr!.on('data', (chunk: Buffer) => (boardLog += chunk.toString()));
}, 120_000);

afterAll(async () => {
  if (board && board.exitCode === null && board.signalCode === null) {
    const exited = once(board, 'exit');
    board.kill('SIGTERM');
    await exited;
  }
  await pair?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('iotcloud harness --embedded --serial', () => {
  it('flashes, bridges the board on the port and passes every case, reset included', async () => {
    const flash = 'echo "flashed $IOTCLOUD_DEVICE_ID through $IOTCLOUD_SERIAL_PORT"';
    const result = await run(
      process.execPath,
      [IOTCLOUD_BIN, 'harness', '--embedded', '--serial', pair.b, '--baud', '115200', '--device', 'ft900serial1', '--flash', flash, '--report-dir', 'reports', '--format', 'json'],
      dir,
    );
    expect(result.code, result.stdout + result.stderr + boardLog).toBe(0);
    expect(result.stdout).toContain(`conformance: ${conformanceSuite().length} passed of ${conformanceSuite().length} cases`);
    expect(result.stdout).toContain(`bridging the board on ${pair.b} (115200 baud) as ft900serial1`);
    const report = JSON.parse(await readFile(join(dir, 'reports', 'harness-report.json'), 'utf8')) as RunReport;
    const notes = report.notes.join('\n');
    expect(notes).toContain(`flash: flashed ft900serial1 through ${pair.b}`);
    // The board restarted on reset_device and announced itself again on the line.
    expect(notes).toContain('HELLO ft900serial1');
    expect(boardLog).toMatch(/ft900-host: device ft900serial1 on /);
  }, 240_000);

  it('a failing --flash is a setup error that shows the flasher\'s output, before anything runs', async () => {
    const output = captureOutput();
    const run = await executeHarness({
      target: { kind: 'mqtt', url: 'mqtt://127.0.0.1:1', deviceId: 'ft900serial1' },
      dut: () =>
        serialDut({
          port: pair.b,
          deviceId: 'ft900serial1',
          mqttUrl: 'mqtts://127.0.0.1:1',
          credentials: { caPem: '', certPem: '', keyPem: '' },
          flash: 'echo "no programmer on USB" >&2; exit 4',
        }),
      output,
      tty: false,
    });
    expect(run.exitCode).toBe(2);
    expect(output.text()).toContain('--flash "echo \\"no programmer on USB\\" >&2; exit 4" failed (status 4)');
    expect(output.text()).toContain('no programmer on USB');
  });

  it('says what is missing: --serial needs the id the board was built with', async () => {
    const noDevice = await run(process.execPath, [IOTCLOUD_BIN, 'harness', '--embedded', '--serial', pair.b], dir);
    expect(noDevice.code).toBe(2);
    expect(noDevice.stderr).toContain('--serial needs --device');
  }, 60_000);
});
