/**
 * A board on a serial line, put on the broker as its device by the serial bridge
 * (ft900/bridge): a real FT900 on a USB-serial cable (`--serial PORT`), or the emulated MCU
 * (qemu.ts). Here in cli/ because it wires the harness to the bridge. An optional flash command runs first. The board's HELLO and LOG frames are its
 * console in the reports.
 */
import { spawn } from 'node:child_process';
import pino from 'pino';
import { startBridge, type Bridge } from '../../ft900/bridge/index.ts';
import type { Credentials } from '../../device-link/index.ts';
import { DutSetupError, failureLatch, type DeviceUnderTest } from '../../harness/index.ts';

export interface BoardLink {
  port: string;
  baudRate?: number;
  deviceId: string;
  /** The broker the bridge connects to as the device (mqtts://). */
  mqttUrl: string;
  credentials: Credentials;
}

export interface BridgedBoard {
  bridge: Bridge;
  /** HELLO and LOG frames and line events, last lines. */
  lines(): string[];
  close(): Promise<void>;
}

const keptLines = 60;

/** Start the bridge for a board; `onFailure` hears when the line goes away or the board falls silent. */
export function bridgeBoard(link: BoardLink, onFailure: (cause: string) => void): BridgedBoard {
  const lines: string[] = [];
  const note = (line: string) => {
    lines.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    if (lines.length > keptLines) lines.splice(0, lines.length - keptLines);
  };
  const bridge = startBridge({
    port: link.port,
    ...(link.baudRate ? { baudRate: link.baudRate } : {}),
    deviceId: link.deviceId,
    url: link.mqttUrl,
    credentials: link.credentials,
    logger: pino({ level: 'silent' }),
  });
  let wasOpen = false;
  bridge.on('serial', (open) => {
    note(`serial ${link.port} ${open ? 'open' : 'closed'}`);
    if (open) wasOpen = true;
    else if (wasOpen) onFailure(`the serial line ${link.port} closed (board unplugged, or the emulator gone)`);
  });
  bridge.on('hello', (id) => note(`HELLO ${id}${id === link.deviceId ? '' : ` (expected ${link.deviceId}: the board will ignore every request)`}`));
  bridge.on('log', (text) => note(`LOG ${text}`));
  bridge.on('lineError', (kind) => note(`line error: ${kind}`));
  // Silence counts only after the board has answered once: a board still booting (after --flash)
  // may miss the first PING.
  let answered = false;
  bridge.on('board', (alive) => {
    note(alive ? 'board answering' : 'board silent: no PONG');
    if (alive) answered = true;
    else if (answered) onFailure(`the board on ${link.port} stopped answering PING`);
  });
  return { bridge, lines: () => [...lines], close: () => bridge.close() };
}

/** Run `--flash "<command>"` before the suite; a failure is a setup error with its output. */
export async function runFlashCommand(command: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8192);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) => reject(new DutSetupError(`--flash: could not run ${JSON.stringify(command)}: ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(output.trim());
      else reject(new DutSetupError(`--flash ${JSON.stringify(command)} failed (${signal ?? `status ${code}`})${output.trim() ? `:\n${output.trim()}` : ''}`));
    });
  });
}

export interface SerialDutOptions extends BoardLink {
  /** Run before the bridge starts (e.g. a flashing tool); gets IOTCLOUD_DEVICE_ID and IOTCLOUD_SERIAL_PORT. */
  flash?: string;
}

/** `--serial PORT [--baud N] [--flash CMD]`: a real board on a serial line. */
export async function serialDut(options: SerialDutOptions): Promise<DeviceUnderTest> {
  const flashOutput = options.flash ? await runFlashCommand(options.flash, { IOTCLOUD_DEVICE_ID: options.deviceId, IOTCLOUD_SERIAL_PORT: options.port }) : '';
  const latch = failureLatch();
  const board = bridgeBoard(options, latch.fail);
  return {
    description: `bridging the board on ${options.port} (${board.bridge.settings.baudRate} baud) as ${options.deviceId}${options.flash ? `, flashed with ${options.flash}` : ''}`,
    failure: latch.failure,
    failed: latch.failed,
    output: async () => [...(flashOutput ? [`flash: ${flashOutput}`] : []), ...board.lines()].join('\n'),
    stop: () => board.close(),
  };
}
