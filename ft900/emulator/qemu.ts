/**
 * Boots a firmware image under `qemu-system-arm -M lm3s6965evb` with its UART0 (the framed link)
 * on a pty and UART1 (the console) in a file, and a QMP socket to ask QEMU where the pty is, read
 * guest memory and watch resets. The board's identity (its device id) is provisioned the way a
 * factory would: a record (app/identity.h) loaded into the last flash KB, never baked into the
 * image.
 *
 * QEMU's death is noticed at once (`exited`), with its last output as the cause.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient } from './qmp.ts';

export const IDENTITY_ADDRESS = 0x0003fc00;
const IDENTITY_MAGIC = 0x49445431;
const MAX_DEVICE_ID_LEN = 64;

export interface EmulatorOptions {
  /** The firmware ELF (`make -C ft900/firmware qemu`: build/lm3s6965/firmware.elf). */
  image: string;
  /** Provision this device id; without it the image uses its built-in default. */
  deviceId?: string;
  /** Deterministic instruction counting: `-icount shift=N` (1 instruction = 2^N ns of guest time). */
  icountShift?: number;
  /** Default `qemu-system-arm`. */
  qemuBinary?: string;
  /** How long QEMU may take to come up (default 15000 ms; generous: the machine is shared). */
  startTimeoutMs?: number;
}

export interface EmulatorExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningEmulator {
  /** The pty of UART0, for the bridge. */
  readonly pty: string;
  readonly pid: number;
  readonly qmp: QmpClient;
  /** Resolves when QEMU exits, on its own or stopped. */
  readonly exited: Promise<EmulatorExit>;
  hasExited(): boolean;
  /** QEMU's own output (stdout and stderr), last lines. */
  outputTail(): string;
  /** What the board printed on its console (UART1), last `maxBytes`. */
  console(maxBytes?: number): Promise<string>;
  /** Guest resets seen so far (QMP RESET events: SYSRESETREQ and the like). */
  readonly resets: number;
  /** Copy guest physical memory. */
  readMemory(address: number, length: number): Promise<Buffer>;
  stop(): Promise<void>;
}

export class EmulatorError extends Error {}

/** The identity record of app/identity.h: magic (LE), device id, NUL, padded to a word. */
export function identityRecord(deviceId: string): Buffer {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(deviceId)) throw new EmulatorError(`${JSON.stringify(deviceId)} is not a device id`);
  const record = Buffer.alloc(4 + MAX_DEVICE_ID_LEN + 1 + 3);
  record.writeUInt32LE(IDENTITY_MAGIC, 0);
  record.write(deviceId, 4, 'ascii');
  return record;
}

export function qemuArgs(image: string, dir: string, options: Pick<EmulatorOptions, 'deviceId' | 'icountShift'>): string[] {
  return [
    '-M', 'lm3s6965evb',
    '-nographic',
    '-kernel', image,
    '-serial', 'pty',
    '-serial', `file:${join(dir, 'console.log')}`,
    '-monitor', 'none',
    '-qmp', `unix:${join(dir, 'qmp.sock')},server=on,wait=off`,
    ...(options.deviceId ? ['-device', `loader,file=${join(dir, 'identity.bin')},addr=0x${IDENTITY_ADDRESS.toString(16)},force-raw=on`] : []),
    ...(options.icountShift === undefined ? [] : ['-icount', `shift=${options.icountShift},sleep=on`]),
  ];
}

const tailLines = 60;

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  try {
    await access(options.image);
  } catch {
    throw new EmulatorError(`no firmware image at ${options.image}: build it with \`make -C ft900/firmware qemu\` (build/lm3s6965/firmware.elf)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'iotcloud-qemu-'));
  if (options.deviceId) await writeFile(join(dir, 'identity.bin'), identityRecord(options.deviceId));
  const binary = options.qemuBinary ?? 'qemu-system-arm';
  const child: ChildProcess = spawn(binary, qemuArgs(options.image, dir, options), { stdio: ['ignore', 'pipe', 'pipe'] });

  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > tailLines) lines.splice(0, lines.length - tailLines);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const outputTail = () => [...lines, ...(partial ? [partial] : [])].join('\n').trim();

  let exitedFlag = false;
  const exited = new Promise<EmulatorExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      exitedFlag = true;
      lines.push((error as NodeJS.ErrnoException).code === 'ENOENT' ? `${binary} not found: install qemu-system-arm (scripts/setup-system.sh does)` : `could not start ${binary}: ${error.message}`);
      resolve({ code: null, signal: null });
    });
  });
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const died = (exit: EmulatorExit) =>
    new EmulatorError(`qemu-system-arm exited during start-up (${exit.signal ?? `status ${exit.code}`})${outputTail() ? `: ${outputTail()}` : ''}`);

  // QMP's socket appears once QEMU has parsed its options; poll for it, but give up at once when
  // QEMU has died (a bad image, a missing machine) rather than waiting out the timeout.
  let qmp: QmpClient | undefined;
  const endAt = performance.now() + (options.startTimeoutMs ?? 15_000);
  while (!qmp) {
    if (exitedFlag) {
      const exit = await exited;
      await cleanup();
      throw died(exit);
    }
    try {
      qmp = await QmpClient.connect(join(dir, 'qmp.sock'));
    } catch {
      if (performance.now() > endAt) {
        child.kill('SIGKILL');
        await exited;
        await cleanup();
        throw new EmulatorError(`qemu-system-arm did not open its QMP socket within ${options.startTimeoutMs ?? 15_000} ms${outputTail() ? `: ${outputTail()}` : ''}`);
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 25))]);
    }
  }

  let resets = 0;
  qmp.on('event', (name) => {
    if (name === 'RESET') resets++;
  });

  let pty: string | undefined;
  try {
    const chardevs = (await qmp.execute('query-chardev')) as { label: string; filename: string }[];
    pty = chardevs.find((device) => device.label === 'serial0')?.filename.replace(/^pty:/, '');
  } catch (error) {
    pty = undefined;
    lines.push(`query-chardev: ${(error as Error).message}`);
  }
  if (!pty) {
    qmp.close();
    child.kill('SIGKILL');
    const exit = await exited;
    await cleanup();
    throw died(exit);
  }

  return {
    pty,
    pid: child.pid ?? -1,
    qmp,
    exited,
    hasExited: () => exitedFlag,
    outputTail,
    get resets() {
      return resets;
    },
    async console(maxBytes = 8192) {
      try {
        // UTF-8 as the console shows it; write_uart may leave a broken sequence (U+FFFD).
        const bytes = await readFile(join(dir, 'console.log'));
        return bytes.subarray(Math.max(0, bytes.length - maxBytes)).toString('utf8');
      } catch {
        return '';
      }
    },
    async readMemory(address: number, length: number) {
      const file = join(dir, `mem-${address.toString(16)}-${length}.bin`);
      await qmp.execute('pmemsave', { val: address, size: length, filename: file });
      const bytes = await readFile(file);
      await rm(file, { force: true });
      return bytes;
    },
    async stop() {
      if (!exitedFlag) {
        // `quit` ends QEMU cleanly; SIGKILL if it does not go within a few seconds.
        await qmp.execute('quit').catch(() => undefined);
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      qmp.close();
      await cleanup();
    },
  };
}
