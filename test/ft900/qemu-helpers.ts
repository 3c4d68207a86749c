/** Shared by the emulated-board tests: build the firmware image, run a command, capture output. */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const firmwareDir = fileURLToPath(new URL('../../ft900/firmware/', import.meta.url));

export function run(command: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** `make qemu` into a build folder of its own (other test files may run make meanwhile). */
export async function buildImage(dir: string, boardCflags = ''): Promise<string> {
  const build = join(dir, 'build');
  await mkdir(dir, { recursive: true });
  const result = await run('make', ['-C', firmwareDir, `BUILD=${build}`, `BOARD_CFLAGS=${boardCflags}`, 'qemu'], dir);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  return join(build, 'lm3s6965', 'firmware.elf');
}

export function captureOutput(onText?: (text: string) => void) {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      onText?.(text);
      done();
    },
  });
  return Object.assign(stream, { text: () => text });
}

