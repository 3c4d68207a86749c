/**
 * ft900/emulator: the QEMU launcher on its own. The board's identity record, QEMU's command line,
 * start-up failures reported at once with their cause (no image, no QEMU, an image QEMU cannot
 * load), and a real boot: the provisioned device id in the board's HELLO on the pty, guest memory
 * readable through QMP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder, FrameType, SerialLink } from '../../ft900/bridge/index.ts';
import { EmulatorError, identityRecord, qemuArgs, startEmulator } from '../../ft900/emulator/index.ts';
import { buildImage } from './qemu-helpers.ts';

let dir: string;
let image: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-emulator-test-'));
  image = await buildImage(join(dir, 'fw'));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('identity record and command line', () => {
  it('lays out app/identity.h: magic "IDT1" little-endian, the id, NUL', () => {
    const record = identityRecord('board-7');
    expect(record.readUInt32LE(0)).toBe(0x49445431);
    expect(record.subarray(4, 12).toString('latin1')).toBe('board-7\0');
    expect(record.length % 4).toBe(0);
    expect(() => identityRecord('no spaces')).toThrow(EmulatorError);
    expect(() => identityRecord('x'.repeat(65))).toThrow(EmulatorError);
  });

  it('puts UART0 on a pty, the console in a file, QMP on a socket, the identity in the last flash KB', () => {
    const args = qemuArgs('/img.elf', '/d', { deviceId: 'a1', icountShift: 0 }).join(' ');
    expect(args).toContain('-M lm3s6965evb');
    expect(args).toContain('-kernel /img.elf -serial pty -serial file:/d/console.log');
    expect(args).toContain('-qmp unix:/d/qmp.sock,server=on,wait=off');
    expect(args).toContain('-device loader,file=/d/identity.bin,addr=0x3fc00,force-raw=on');
    expect(args).toContain('-icount shift=0,sleep=on');
    expect(qemuArgs('/img.elf', '/d', {}).join(' ')).not.toContain('loader');
  });
});

describe('start-up failures say why, at once', () => {
  it('no image: names the make target', async () => {
    await expect(startEmulator({ image: join(dir, 'missing.elf') })).rejects.toThrow(/make -C ft900\/firmware qemu/);
  });

  it('no QEMU: says which package to install', async () => {
    await expect(startEmulator({ image, qemuBinary: join(dir, 'no-such-qemu') })).rejects.toThrow(/install qemu-system-arm/);
  });

  it('an image QEMU cannot load: its own message, not a timeout', async () => {
    // A directory where the image should be: QEMU refuses it and exits at once.
    const error = await startEmulator({ image: dir, startTimeoutMs: 60_000 }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(EmulatorError);
    expect((error as Error).message).toMatch(/^qemu-system-arm exited during start-up \(status 1\): [^]*Could not load kernel/);
  }, 30_000);
});

describe('a real boot', () => {
  it('says HELLO with the provisioned id on its pty; RAM is readable; stop ends QEMU', async () => {
    const emulator = await startEmulator({ image, deviceId: 'emulated-9' });
    const link = new SerialLink({ path: emulator.pty, baudRate: 115200 });
    const decoder = new FrameDecoder();
    try {
      const hello = new Promise<string>((resolve) => {
        link.on('data', (chunk) => {
          for (const event of decoder.push(chunk)) {
            if (event.kind === 'frame' && event.type === FrameType.HELLO) resolve(Buffer.from(event.payload).toString());
          }
        });
      });
      link.start();
      await new Promise<void>((resolve) => link.once('open', () => resolve()));
      // The first HELLO may have gone out before the port was open: a QMP system_reset makes it
      // boot (and say HELLO) again.
      await emulator.qmp.execute('system_reset');
      expect(await hello).toBe('emulated-9');
      const vectors = await emulator.readMemory(0, 8);
      expect(vectors.readUInt32LE(0)).toBe(0x20010000); // initial stack pointer: the top of the 64 KB SRAM
      expect((await emulator.console()).replace(/\r/g, '')).toContain('device emulated-9 boot');
    } finally {
      await link.close();
      await emulator.stop();
    }
    expect(emulator.hasExited()).toBe(true);
  }, 60_000);
});

