/**
 * Real serial lines for the bridge tests and benchmark, no mocks:
 *
 *   ft900-host <-> [socat pty pair] <-> tap <-> [socat pty pair] <-> bridge
 *       board                         (this process)                 bridge
 *
 * The tap is a second pty hop that relays bytes between the two pairs, so a test can do to the
 * line what a real cable does: add noise between frames, cut or corrupt a frame in flight, be
 * unplugged and plugged back in (the bridge's pty disappears and comes back at the same path,
 * as a udev symlink would), or run at a given baud rate (a pty itself has no line rate).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import type { Bridge, BridgeEvents } from '../ft900/bridge/index.ts';

export const firmwareDir = fileURLToPath(new URL('../ft900/firmware/', import.meta.url));
export const hostBinary = join(firmwareDir, 'build', 'ft900-host');

/** Build ft900-host (make is a no-op when it is up to date). */
export async function buildHost(): Promise<void> {
  const make = spawn('make', ['-C', firmwareDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  make.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(make, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`make -C ft900/firmware failed (${code}):\n${stderr}`);
}

/** A socat pty pair whose ends are symlinks at fixed paths, so a restarted pair has the same names. */
export class PtyPair {
  private constructor(
    private readonly process: ChildProcess,
    readonly a: string,
    readonly b: string,
  ) {}

  static start(a: string, b: string): Promise<PtyPair> {
    return new Promise((resolve, reject) => {
      const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let text = '';
      const early = (code: number | null) => reject(new Error(`socat exited (${code}) before the pair was ready: ${text}`));
      socat.on('error', reject);
      socat.once('exit', early);
      socat.stderr!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('starting data transfer loop')) {
          socat.off('exit', early);
          resolve(new PtyPair(socat, a, b));
        }
      });
    });
  }

  /** Remove the pair, as pulling a USB-serial adapter removes its tty. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = once(this.process, 'exit');
    this.process.kill('SIGTERM');
    await exited;
  }
}

export type Direction = 'toBridge' | 'toBoard';
type Mangler = { mangle: (frame: Buffer) => Buffer; match: (frame: Buffer) => boolean };

/** Splits a byte stream into wire frames (7E ... 7E) and the noise between them, passing every byte on. */
class FrameSplitter {
  private held: number[] = [];
  private inFrame = false;

  push(chunk: Buffer, emit: (bytes: Buffer, isFrame: boolean) => void): void {
    let noise: number[] = [];
    const flushNoise = () => {
      if (noise.length > 0) emit(Buffer.from(noise), false);
      noise = [];
    };
    for (const byte of chunk) {
      if (!this.inFrame) {
        if (byte === 0x7e) {
          this.inFrame = true;
          this.held = [byte];
        } else {
          noise.push(byte);
        }
      } else if (byte === 0x7e) {
        if (this.held.length === 1) {
          // 7E 7E: the first flag was idle fill; this one opens the frame.
          noise.push(0x7e);
        } else {
          this.held.push(byte);
          flushNoise();
          emit(Buffer.from(this.held), true);
          this.inFrame = false;
          this.held = [];
        }
      } else {
        this.held.push(byte);
      }
    }
    flushNoise();
  }
}

/** Writes bytes no faster than a UART at `baudRate` would send them (8N1: 10 bits a byte). */
class PacedWriter {
  private readonly queue: { bytes: Buffer; dueAt: number }[] = [];
  private busyUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (bytes: Buffer) => void,
    private readonly baudRate: number | undefined,
  ) {}

  send(bytes: Buffer): void {
    if (!this.baudRate) return this.write(bytes);
    const now = performance.now();
    this.busyUntil = Math.max(now, this.busyUntil) + (bytes.length * 10 * 1000) / this.baudRate;
    this.queue.push({ bytes, dueAt: this.busyUntil });
    this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = performance.now();
      while (this.queue.length > 0 && this.queue[0]!.dueAt <= now + 0.5) this.write(this.queue.shift()!.bytes);
      this.arm();
    }, Math.max(0, this.queue[0]!.dueAt - performance.now()));
  }
}

export interface SerialLineOptions {
  /** Folder for the pty symlinks. */
  dir: string;
  /** Emulate this line rate on the tap (both directions); default: as fast as the ptys go. */
  baudRate?: number;
}

export class SerialLine {
  readonly boardPath: string;
  readonly bridgePath: string;
  /** Frames relayed in each direction (whole wire frames, noise not counted). */
  readonly relayed: Record<Direction, number> = { toBridge: 0, toBoard: 0 };
  /** Bytes relayed in each direction (frames and noise), for wire-time arithmetic. */
  readonly bytes: Record<Direction, number> = { toBridge: 0, toBoard: 0 };
  private readonly tapBoardPath: string;
  private readonly tapBridgePath: string;
  private boardPair!: PtyPair;
  private bridgePair: PtyPair | undefined;
  private boardSide!: SerialPortStream;
  private bridgeSide: SerialPortStream | undefined;
  private readonly splitters: Record<Direction, FrameSplitter> = { toBridge: new FrameSplitter(), toBoard: new FrameSplitter() };
  private readonly manglers: Record<Direction, Mangler[]> = { toBridge: [], toBoard: [] };
  private readonly writers: Record<Direction, PacedWriter>;

  private constructor(private readonly options: SerialLineOptions) {
    this.boardPath = join(options.dir, 'board');
    this.bridgePath = join(options.dir, 'bridge');
    this.tapBoardPath = join(options.dir, 'tap-board');
    this.tapBridgePath = join(options.dir, 'tap-bridge');
    this.writers = {
      toBridge: new PacedWriter((bytes) => this.bridgeSide?.write(bytes), options.baudRate),
      toBoard: new PacedWriter((bytes) => this.boardSide.write(bytes), options.baudRate),
    };
  }

  static async start(options: SerialLineOptions): Promise<SerialLine> {
    const line = new SerialLine(options);
    line.boardPair = await PtyPair.start(line.boardPath, line.tapBoardPath);
    line.boardSide = await openPort(line.tapBoardPath);
    line.boardSide.on('data', (chunk: Buffer) => line.relay('toBridge', chunk));
    await line.plug();
    return line;
  }

  /** Bytes straight onto the line towards one end (noise, a partial frame...). */
  inject(direction: Direction, bytes: Buffer): void {
    this.writers[direction].send(bytes);
  }

  /**
   * Put the next whole frame going this way that `match`es through `mangle` (cut it, flip a bit,
   * drop it). Matching on the raw wire bytes is enough for ASCII topics: they need no escaping.
   */
  mangleNext(direction: Direction, mangle: (frame: Buffer) => Buffer, match: (frame: Buffer) => boolean = () => true): void {
    this.manglers[direction].push({ mangle, match });
  }

  /** Pull the cable: the bridge's tty disappears (its reads fail, the path is gone). */
  async unplug(): Promise<void> {
    const side = this.bridgeSide;
    this.bridgeSide = undefined;
    if (side?.isOpen) await new Promise<void>((resolve) => side.close(() => resolve()));
    await this.bridgePair?.stop();
    this.bridgePair = undefined;
  }

  /** Plug it back: a new tty at the same path. */
  async plug(): Promise<void> {
    this.bridgePair = await PtyPair.start(this.tapBridgePath, this.bridgePath);
    const side = await openPort(this.tapBridgePath);
    side.on('data', (chunk: Buffer) => this.relay('toBoard', chunk));
    this.bridgeSide = side;
  }

  async stop(): Promise<void> {
    for (const writer of Object.values(this.writers)) writer.stop();
    await this.unplug();
    if (this.boardSide.isOpen) await new Promise<void>((resolve) => this.boardSide.close(() => resolve()));
    await this.boardPair.stop();
  }

  private relay(direction: Direction, chunk: Buffer): void {
    this.bytes[direction] += chunk.length;
    this.splitters[direction].push(chunk, (bytes, isFrame) => {
      if (isFrame) {
        this.relayed[direction]++;
        const manglers = this.manglers[direction];
        const index = manglers.findIndex((m) => m.match(bytes));
        if (index >= 0) bytes = manglers.splice(index, 1)[0]!.mangle(bytes);
      }
      if (bytes.length > 0) this.writers[direction].send(bytes);
    });
  }
}

async function openPort(path: string): Promise<SerialPortStream> {
  const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115200, autoOpen: false });
  port.on('error', () => undefined); // the unplug test closes ports under their feet
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  return port;
}

/** ft900-host, the simulated board, on one end of the line. */
export class BoardProcess {
  log = '';
  private constructor(readonly process: ChildProcess) {
    process.stderr!.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
  }

  static start(path: string, deviceId: string): BoardProcess {
    return new BoardProcess(spawn(hostBinary, ['--serial', path, '--device', deviceId], { stdio: ['ignore', 'ignore', 'pipe'] }));
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Stop it (SIGKILL is a power cut: no goodbye, a frame may be cut short). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    const exited = once(this.process, 'exit');
    this.process.kill(signal);
    await exited;
  }
}

/** The next time `bridge` emits `event` with arguments that `match`. */
export function nextEvent<K extends keyof BridgeEvents>(bridge: Bridge, event: K, match: (...args: BridgeEvents[K]) => boolean = () => true): Promise<BridgeEvents[K]> {
  return new Promise((resolve) => {
    const listener = (...args: BridgeEvents[K]) => {
      if (!match(...args)) return;
      (bridge.off as (e: K, l: typeof listener) => void)(event, listener);
      resolve(args);
    };
    (bridge.on as (e: K, l: typeof listener) => void)(event, listener);
  });
}
