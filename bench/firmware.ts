/**
 * The reference firmware on the emulated MCU (QEMU lm3s6965evb, Cortex-M3, 256 KB flash / 64 KB
 * SRAM), measured rather than estimated:
 *
 *   flash, RAM       arm-none-eabi-size of the image; per part from the linker map
 *   stack            high-water mark after the whole conformance suite (reset included), read
 *                    from the board's RAM through QMP: startup.c paints the free RAM, and the
 *                    first word no longer painted, from the bottom, is the deepest the stack went
 *   instructions     per handled command, under `-icount shift=0` (one instruction = 1 ns of
 *                    guest time): the firmware counts 50 MHz SysTick cycles (20 ns each) spent
 *                    in the link loop for the last answered request, from its first byte to the
 *                    last byte of the answer written, interrupts taken meanwhile included
 *   REST round trip  REST client -> server -> MQTTS -> bridge -> pty -> emulated UART -> firmware
 *                    and back, get_gpio, one at a time
 *
 * `make -C ft900/firmware qemu` first (the benchmark runs it).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { RestClient } from '../rest-client/index.ts';
import { serviceTargetOptions } from '../cli/commands/harness.ts';
import { encodeFrame, FrameDecoder, FrameType, messagePayload, SerialLink } from '../ft900/bridge/index.ts';
import { startEmulator, type RunningEmulator } from '../ft900/emulator/index.ts';
import { executeHarness, failureLatch } from '../harness/index.ts';
import { bridgeBoard } from '../cli/dut/serial.ts';
import { openRestTarget } from '../harness/targets/index.ts';
import { runLoad } from '../harness/load/run-load.ts';
import { startServer } from '../server/server.ts';
import { printMetric } from './report.ts';

const run = promisify(execFile);
const firmwareDir = fileURLToPath(new URL('../ft900/firmware/', import.meta.url));
const image = join(firmwareDir, 'build', 'lm3s6965', 'firmware.elf');
const PAINT = 0xc5c5c5c5;
const NS_PER_CYCLE = 20; // 50 MHz
const REST_COUNT = 300;

async function symbols(): Promise<Map<string, number>> {
  const { stdout } = await run('arm-none-eabi-nm', [image]);
  const map = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const [address, , name] = line.trim().split(/\s+/);
    if (address && name) map.set(name, parseInt(address, 16));
  }
  return map;
}

const FLASH_BUDGET = 24 * 1024;
const RAM_BUDGET = 12 * 1024;

async function sizes(): Promise<{ flash: number; ram: number }> {
  const { stdout } = await run('arm-none-eabi-size', ['-A', image]);
  const section = (name: string) => Number(new RegExp(`^\\${name}\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? 0);
  const flash = section('.text') + section('.ARM.exidx') + section('.data');
  const ram = section('.data') + section('.bss') + section('.noinit');
  printMetric('flash_bytes', flash, 'bytes');
  printMetric('ram_static_bytes', ram, 'bytes');
  // Per part: input sections in the map, by object file (after --gc-sections).
  const map = await readFile(join(firmwareDir, 'build', 'lm3s6965', 'firmware.map'), 'utf8');
  const flashBy = new Map<string, number>();
  const ramBy = new Map<string, number>();
  const entry = /^ (\.(?:text|rodata|data|bss|noinit)[^\s]*)\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)/gm;
  const start = map.indexOf('Linker script and memory map');
  for (const match of map.slice(start).matchAll(entry)) {
    const [, name, address, size, object] = match as unknown as [string, string, string, string, string];
    if (parseInt(address, 16) === 0 && !name.startsWith('.text')) continue;
    const part = partOf(object);
    const target = name.startsWith('.text') || name.startsWith('.rodata') ? flashBy : ramBy;
    target.set(part, (target.get(part) ?? 0) + parseInt(size, 16));
  }
  for (const [part, bytes] of [...flashBy].sort((a, b) => b[1] - a[1])) printMetric(`flash_${part}_bytes`, bytes, 'bytes');
  for (const [part, bytes] of [...ramBy].sort((a, b) => b[1] - a[1])) printMetric(`ram_${part}_bytes`, bytes, 'bytes');
  return { flash, ram };
}

function partOf(object: string): string {
  if (object.includes('libc.a')) return 'libc';
  if (object.includes('libgcc.a')) return 'libgcc';
  const match = /(?:src|app|boards\/lm3s6965)\/(\w+)\.o$/.exec(object);
  if (!match) return 'other';
  return object.includes('/boards/') ? `board_${match[1]}` : match[1]!;
}

/** Deepest stack use so far: the painted words left between the static data and the stack top. */
async function stackHighWater(emulator: RunningEmulator, syms: Map<string, number>): Promise<number> {
  const bottom = syms.get('_end_static')!;
  const top = syms.get('_estack')!;
  const ram = await emulator.readMemory(bottom, top - bottom);
  let offset = 0;
  while (offset < ram.length && ram.readUInt32LE(offset) === PAINT) offset += 4;
  return ram.length - offset;
}

/** The whole suite through the bridge, then the stack mark and the REST round trip. */
async function suiteAndRest(syms: Map<string, number>): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'iotcloud-bench-firmware-'));
  const server = await startServer({ apiPort: 0, mqttPort: 0, servicePort: 0, dataDir: join(dir, 'server') }, pino({ level: 'warn' }));
  const client = new RestClient({ baseUrl: server.apiUrl, caPem: server.rootCaPem });
  let emulator: RunningEmulator | undefined;
  let board: ReturnType<typeof bridgeBoard> | undefined;
  try {
    await client.signup('bench', 'bench password');
    await client.login('bench', 'bench password');
    const registration = await client.registerDevice('emulated');
    emulator = await startEmulator({ image, deviceId: registration.deviceId });
    const latch = failureLatch();
    board = bridgeBoard(
      {
        port: emulator.pty,
        deviceId: registration.deviceId,
        mqttUrl: server.mqttUrl,
        credentials: { caPem: registration.rootCa, certPem: registration.certificate, keyPem: registration.privateKey },
      },
      latch.fail,
    );
    const started = performance.now();
    const suite = await executeHarness({
      target: { kind: 'mqtt', url: server.service!.url, deviceId: registration.deviceId, ...serviceTargetOptions(server.service!) },
      dut: async () => ({ description: 'emulated lm3s6965evb', failure: latch.failure, failed: latch.failed, output: async () => '', stop: async () => undefined }),
      output: process.stderr,
      tty: false,
    });
    if (suite.exitCode !== 0) throw new Error(`the conformance suite did not pass on the emulated board: ${suite.report?.verdict}`);
    printMetric('conformance_suite_s', suite.report!.conformance!.durationMs / 1000, 's');
    printMetric('conformance_run_s', (performance.now() - started) / 1000, 's');
    const stack = await stackHighWater(emulator, syms);
    printMetric('stack_high_water_bytes', stack, 'bytes');

    const target = openRestTarget({ baseUrl: server.apiUrl, token: client.token!, deviceId: registration.deviceId, ca: server.rootCaPem });
    try {
      const command = { command: 'get_gpio', params: { number: 18 } };
      await runLoad([target], { mode: 'closed', concurrency: 1, count: 30, ...command });
      const rest = await runLoad([target], { mode: 'closed', concurrency: 1, count: REST_COUNT, ...command });
      if (rest.ok !== REST_COUNT) throw new Error(`${REST_COUNT - rest.ok} of ${REST_COUNT} REST commands failed`);
      printMetric('rest_rtt_p50_ms', rest.latency.p50Ms, 'ms');
      printMetric('rest_rtt_p99_ms', rest.latency.p99Ms, 'ms');
    } finally {
      await target.close();
    }
    return stack;
  } finally {
    await board?.close();
    await emulator?.stop();
    client.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const commands: [string, Record<string, unknown>][] = [
  ['get_status', {}],
  ['get_gpio', { number: 18 }],
  ['set_gpio', { number: 18, value: 1 }],
  ['get_rtc', {}],
  ['set_rtc', { value: 1764144000 }],
  ['get_mac', {}],
  ['get_ip', {}],
  ['get_subnet', {}],
  ['get_gateway', {}],
  ['write_uart', { data: 'hello ft900' }],
]; // reset_device restarts the chip, which clears the counter with the rest of .bss

/** Each command on the framed link straight to the pty, under -icount: instructions it took. */
async function instructions(syms: Map<string, number>): Promise<void> {
  const deviceId = 'ft900device1';
  const emulator = await startEmulator({ image, deviceId, icountShift: 0 });
  const link = new SerialLink({ path: emulator.pty, baudRate: 115200 });
  const decoder = new FrameDecoder();
  let waiting: (() => void) | undefined;
  link.on('data', (chunk) => {
    for (const event of decoder.push(chunk)) if (event.kind === 'frame' && event.type === FrameType.RESPONSE) waiting?.();
  });
  try {
    link.start();
    await new Promise<void>((resolve) => link.once('open', () => resolve()));
    const cyclesAt = syms.get('board_command_cycles')!;
    for (const [command, params] of commands) {
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        const answered = new Promise<void>((resolve) => (waiting = () => resolve()));
        link.write(encodeFrame(FrameType.REQUEST, messagePayload(`${deviceId}/${command}`, Buffer.from(JSON.stringify({ cid: 'bench1', ...params })))));
        await answered;
        counts.push((await emulator.readMemory(cyclesAt, 4)).readUInt32LE(0) * NS_PER_CYCLE);
      }
      // The same request three times; the counts differ a little (up to ~2%) because the receive
      // interrupts interleave differently as bytes arrive from the pty. The lowest is the work.
      console.error(`${command}: ${counts.join(', ')} instructions`);
      printMetric(`insn_per_command_${command}`, Math.min(...counts), 'instructions');
    }
  } finally {
    await link.close();
    await emulator.stop();
  }
}

await run('make', ['-C', firmwareDir, 'qemu']);
const syms = await symbols();
const { flash, ram } = await sizes();
await instructions(syms);
const stack = await suiteAndRest(syms);
printMetric('ram_with_stack_bytes', ram + stack, 'bytes');
// The budget of issue 17: the FT900's class of part, with room to spare for an application.
printMetric('flash_budget_used_pct', (100 * flash) / FLASH_BUDGET, '%');
printMetric('ram_budget_used_pct', (100 * (ram + stack)) / RAM_BUDGET, '%');
if (flash > FLASH_BUDGET || ram + stack > RAM_BUDGET) {
  console.error(`over budget: flash ${flash} of ${FLASH_BUDGET} bytes, RAM with stack ${ram + stack} of ${RAM_BUDGET} bytes`);
  process.exitCode = 1;
}
