/**
 * What the harness talks to: one device, reached either straight over a broker (the harness plays
 * the server) or through the iotcloud server's REST API. Conformance cases and the load generator
 * only see this interface, so every case runs against both.
 */
import type { CommandOutcome, ErrorBody } from '../../firmware-protocol/index.ts';

import type { AnswerSeen } from '../../firmware-protocol/index.ts';
export type { AnswerSeen };

/** Extra facts a target adds to the protocol's CommandOutcome. */
export interface OutcomeExtras {
  /** Who produced an error: the device itself, or the server before the request reached it (REST only). */
  source?: 'device' | 'server';
  /** The raw answer (direct broker targets only). */
  answer?: AnswerSeen;
  /** HTTP status (REST only). */
  httpStatus?: number;
  /** Why the request could not be sent (REST only): the socket or TLS error, for the caller's advice. */
  cause?: unknown;
}

/** The device answered, but the answer does not decode: bad JSON, wrong types, fields missing. */
export type InvalidAnswerOutcome = Extract<CommandOutcome, { status: 'invalid-answer' }> & { source: 'device' };

export type HarnessOutcome = (CommandOutcome & OutcomeExtras) | InvalidAnswerOutcome;
export type OutcomeStatus = HarnessOutcome['status'];

export interface RawAnswer {
  topic: string;
  payload: Buffer;
}

export interface RawOptions {
  /**
   * Return early once an answer has arrived and nothing more came for this long. Duplicates
   * arriving later than this are missed; without it the call always waits the whole window.
   */
  quietMs?: number;
}

/** An answer seen where it should not be: another device's topic, or the topic of a command not asked. */
export interface ForeignAnswer {
  topic: string;
  payload: string;
  reason: string;
}

export interface DeviceTarget {
  readonly deviceId: string;
  readonly kind: 'mqtt' | 'rest';
  /** Send a command with these params (may be invalid on purpose); resolves, never rejects. */
  command(command: string, params: unknown, timeoutMs: number): Promise<HarnessOutcome>;
  /** Direct broker targets only: publish a raw payload on the request topic; collect every answer for this device within windowMs. */
  raw?(command: string, payload: Uint8Array | string, windowMs: number, options?: RawOptions): Promise<RawAnswer[]>;
  /** Direct broker targets only: answers seen on topics not belonging to this device/command asked, since the target opened. */
  foreignAnswers?(): ForeignAnswer[];
  /** Where the target points, for reports (never includes credentials). */
  describe(): string;
  close(): Promise<void>;
}

/**
 * Raised while opening a target: the broker or server cannot be reached, or the options are wrong.
 * `cause` carries the socket or TLS error, when there is one, for HarnessOptions.explainSetupError.
 */
export class TargetSetupError extends Error {
  override readonly name = 'TargetSetupError';
}

export type { CommandOutcome, ErrorBody };

/** Text of a payload for messages: bounded, with invalid UTF-8 replaced rather than thrown on. */
export function payloadText(payload: Uint8Array | string, max = 300): string {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}
