/**
 * The serial side of the bridge: keeps one port open for as long as it is wanted. When the port
 * closes on its own (USB cable pulled, adapter reset, the pty's other end gone) or cannot be
 * opened yet, it retries with the same backoff-with-jitter the broker side uses, until the
 * device node is back.
 */
import { EventEmitter } from 'node:events';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import { Backoff, type BackoffOptions } from '../../device-link/index.ts';

export interface SerialLinkOptions {
  path: string;
  baudRate: number;
  backoff?: Partial<BackoffOptions>;
}

export interface SerialLinkEvents {
  open: [];
  data: [chunk: Buffer];
  /** The port closed without being asked to; a reopen is scheduled in `retryInMs`. */
  lost: [error: Error, retryInMs: number];
  /** An open attempt failed; the next one is in `retryInMs`. */
  retry: [error: Error, retryInMs: number];
}

/** Serial ports come and go slower than sockets: a udev node takes a moment to reappear. */
const serialBackoff: BackoffOptions = { initialMs: 250, maxMs: 10_000, factor: 2 };

export class SerialLink extends EventEmitter<SerialLinkEvents> {
  /** Successful opens after the first one. */
  reopens = 0;
  private port: SerialPortStream | undefined;
  private opens = 0;
  private wanted = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;

  constructor(private readonly options: SerialLinkOptions) {
    super();
    this.backoff = new Backoff({ ...serialBackoff, ...options.backoff });
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  /** Open in the background, retrying until it works. */
  start(): void {
    this.wanted = true;
    this.attempt();
  }

  /** Queue bytes for the line; false (and nothing sent) when the port is not open. */
  write(bytes: Buffer): boolean {
    if (!this.port?.isOpen) return false;
    this.port.write(bytes);
    return true;
  }

  async close(): Promise<void> {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private attempt(): void {
    this.retryTimer = undefined;
    if (!this.wanted) return;
    // A fresh stream per attempt: a stream that saw a disconnect keeps state we do not want.
    const port = new SerialPortStream({ binding: autoDetect(), path: this.options.path, baudRate: this.options.baudRate, autoOpen: false });
    port.on('data', (chunk: Buffer) => {
      if (port === this.port) this.emit('data', chunk);
    });
    // Without a listener a write error would be thrown; the close that follows is what counts.
    port.on('error', () => undefined);
    port.on('close', (error?: Error) => {
      if (port !== this.port || !this.wanted) return;
      this.port = undefined;
      const retryInMs = this.backoff.next();
      this.emit('lost', error ?? new Error('serial port closed'), retryInMs);
      this.schedule(retryInMs);
    });
    port.open((error) => {
      if (!this.wanted) {
        if (!error) port.close();
        return;
      }
      if (error) {
        const retryInMs = this.backoff.next();
        this.emit('retry', error, retryInMs);
        this.schedule(retryInMs);
        return;
      }
      this.port = port;
      this.backoff.reset();
      if (this.opens++ > 0) this.reopens++;
      this.emit('open');
    });
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.attempt(), delayMs);
  }
}
