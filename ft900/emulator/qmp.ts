/**
 * A minimal QMP client (QEMU Machine Protocol, JSON over a unix socket): one command at a time,
 * events collected. Used to find the UART's pty (`query-chardev`), to read guest memory
 * (`human-monitor-command` pmemsave / xp) and to see guest resets.
 */
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface QmpEvents {
  event: [name: string, data: unknown];
  close: [];
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class QmpClient extends EventEmitter<QmpEvents> {
  private buffer = '';
  private queue: Pending[] = [];
  private greeted: Promise<void>;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    super();
    let greet!: () => void;
    this.greeted = new Promise((resolve) => (greet = resolve));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline).trim();
        this.buffer = this.buffer.slice(newline + 1);
        if (!line) continue;
        let message: { QMP?: unknown; return?: unknown; error?: { desc?: string }; event?: string; data?: unknown };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          continue;
        }
        if (message.QMP) greet();
        else if (message.event) this.emit('event', message.event, message.data);
        else if ('return' in message) this.queue.shift()?.resolve(message.return);
        else if (message.error) this.queue.shift()?.reject(new Error(`QMP: ${message.error.desc ?? 'error'}`));
      }
    });
    const fail = () => {
      this.closed = true;
      for (const pending of this.queue.splice(0)) pending.reject(new Error('QMP connection closed (QEMU exited?)'));
      this.emit('close');
    };
    socket.on('close', fail);
    socket.on('error', () => undefined); // 'close' follows
  }

  /** Connect and negotiate capabilities. Rejects when the socket cannot be reached. */
  static async connect(path: string): Promise<QmpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const client = new QmpClient(socket);
    await client.greeted;
    await client.execute('qmp_capabilities');
    return client;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed (QEMU exited?)'));
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    });
  }

  /** A human monitor command (e.g. `xp /4wx 0x20000000`); its text output. */
  async hmp(commandLine: string): Promise<string> {
    return (await this.execute('human-monitor-command', { 'command-line': commandLine })) as string;
  }

  close(): void {
    this.socket.destroy();
  }
}
