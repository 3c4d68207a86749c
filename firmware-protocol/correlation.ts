/**
 * Matching answers to requests, without I/O: the server's device bus and the harness's direct
 * broker target both send a request, then wait here for the answer or the deadline.
 *
 * An answer carrying a correlation id settles that request. An answer without one (an original
 * libpyiotcloud device ignores the field) settles the oldest pending request for the same device
 * and command, which is what the original server's topic matching did.
 */
import type { CommandName } from './commands.ts';
import type { ErrorBody } from './commands.ts';
import type { DeviceResponse } from './codec.ts';
import type { ProtocolError } from './errors.ts';

export type CommandOutcome =
  | { status: 'ok'; deviceId: string; command: string; cid: string; result: Record<string, unknown>; elapsedMs: number }
  | { status: 'device-error'; deviceId: string; command: string; cid: string; error: ErrorBody; elapsedMs: number }
  | { status: 'timeout'; deviceId: string; command: string; cid: string; timeoutMs: number; elapsedMs: number }
  | { status: 'unavailable'; deviceId: string; command: string; cid: string; message: string; elapsedMs: number }
  | { status: 'invalid-answer'; deviceId: string; command: string; cid: string; elapsedMs: number; problem: string; answer: AnswerSeen };

/** An answer as it came off the wire, cut to a bounded length, for messages that show what a device sent. */
export interface AnswerSeen {
  topic: string;
  /** The payload as text (invalid UTF-8 replaced), at most ANSWER_SHOWN_CHARS characters. */
  payload: string;
  /** The `cid` the answer carried, when it carried a readable one. */
  cid?: string;
}

/** How much of an invalid answer is kept and shown: enough to see what was wrong, bounded for logs and REST bodies. */
export const ANSWER_SHOWN_CHARS = 512;

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface Pending {
  deviceId: string;
  command: string;
  cid: string;
  startedAt: number;
  timer: unknown;
  resolve: (outcome: CommandOutcome) => void;
}

export class PendingRequests {
  private readonly byCid = new Map<string, Pending>();
  /** Oldest first, per `${deviceId}/${command}`, for answers that carry no correlation id. */
  private readonly queues = new Map<string, Pending[]>();
  private readonly prefix = Math.random().toString(36).slice(2, 6);
  private counter = 0;
  /** Answers that matched nothing (late after a timeout, or never asked for). */
  unmatched = 0;

  constructor(private readonly clock: Clock = systemClock) {}

  get size(): number {
    return this.byCid.size;
  }

  /** Register a request; the returned promise always resolves, never rejects. */
  open(deviceId: string, command: CommandName | string, timeoutMs: number): { cid: string; outcome: Promise<CommandOutcome> } {
    const cid = `${this.prefix}${(this.counter++).toString(36)}`;
    let resolve!: (outcome: CommandOutcome) => void;
    const outcome = new Promise<CommandOutcome>((r) => (resolve = r));
    const pending: Pending = { deviceId, command, cid, startedAt: this.clock.now(), timer: undefined, resolve };
    pending.timer = this.clock.setTimeout(() => {
      this.remove(pending);
      resolve({ status: 'timeout', deviceId, command, cid, timeoutMs, elapsedMs: this.elapsed(pending) });
    }, timeoutMs);
    this.byCid.set(cid, pending);
    const key = queueKey(deviceId, command);
    const queue = this.queues.get(key);
    if (queue) queue.push(pending);
    else this.queues.set(key, [pending]);
    return { cid, outcome };
  }

  /** Settle the request this answer belongs to; false when it belongs to none. */
  settle(response: DeviceResponse): boolean {
    const pending = response.cid !== undefined ? this.byCid.get(response.cid) : this.queues.get(queueKey(response.deviceId, response.command))?.[0];
    if (!pending || pending.deviceId !== response.deviceId) {
      this.unmatched++;
      return false;
    }
    this.finish(pending);
    const base = { deviceId: pending.deviceId, command: pending.command, cid: pending.cid, elapsedMs: this.elapsed(pending) };
    pending.resolve(
      response.ok
        ? { status: 'ok', ...base, result: response.result as Record<string, unknown> }
        : { status: 'device-error', ...base, error: response.error },
    );
    return true;
  }

  /**
   * An answer that came for a request but failed validation: it settles that request at once as
   * invalid (the caller learns the device answered wrongly instead of waiting for the deadline).
   * false when it belongs to no request in flight.
   */
  settleInvalid(error: ProtocolError, topic: string, payload: Uint8Array | string): boolean {
    const context = error.context;
    if (context?.deviceId === undefined || context.command === undefined) return false;
    const problem = error.message;
    const pending = context.cid !== undefined ? this.byCid.get(context.cid) : this.queues.get(queueKey(context.deviceId, context.command))?.[0];
    if (!pending || pending.deviceId !== context.deviceId || pending.command !== context.command) return false;
    this.finish(pending);
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    const shown = text.length > ANSWER_SHOWN_CHARS ? `${text.slice(0, ANSWER_SHOWN_CHARS)}... (${text.length} characters)` : text;
    pending.resolve({
      status: 'invalid-answer',
      deviceId: pending.deviceId,
      command: pending.command,
      cid: pending.cid,
      elapsedMs: this.elapsed(pending),
      problem,
      answer: { topic, payload: shown, ...(context.cid === undefined ? {} : { cid: context.cid }) },
    });
    return true;
  }

  /** Fail one request at once (e.g. its publish failed). */
  fail(cid: string, message: string): void {
    const pending = this.byCid.get(cid);
    if (!pending) return;
    this.finish(pending);
    pending.resolve({ status: 'unavailable', deviceId: pending.deviceId, command: pending.command, cid, message, elapsedMs: this.elapsed(pending) });
  }

  /** Fail every request in flight (the broker connection is gone): callers answer at once, not at the deadline. */
  failAll(message: string): void {
    for (const cid of [...this.byCid.keys()]) this.fail(cid, message);
  }

  private finish(pending: Pending): void {
    this.clock.clearTimeout(pending.timer);
    this.remove(pending);
  }

  private remove(pending: Pending): void {
    this.byCid.delete(pending.cid);
    const key = queueKey(pending.deviceId, pending.command);
    const queue = this.queues.get(key);
    if (!queue) return;
    const index = queue.indexOf(pending);
    if (index >= 0) queue.splice(index, 1);
    if (queue.length === 0) this.queues.delete(key);
  }

  private elapsed(pending: Pending): number {
    return this.clock.now() - pending.startedAt;
  }
}

const queueKey = (deviceId: string, command: string): string => `${deviceId}/${command}`;
