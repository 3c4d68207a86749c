/**
 * The shape of a conformance case and the helpers cases share to tell a firmware developer
 * exactly what was sent, what the protocol expects, and what came back.
 */
import type { ForeignAnswer, HarnessOutcome, RawAnswer } from '../targets/types.ts';

export type CaseStatus = 'pass' | 'fail' | 'not-applicable';

export interface CaseVerdict {
  status: CaseStatus;
  message: string;
}

export interface ConformanceCase {
  /** Stable id, e.g. `gpio.set-get`, `set_gpio.invalid.number-above-max`. */
  id: string;
  description: string;
  /** Heading of docs/protocol.md the case checks, e.g. "4. Commands > `set_gpio`". */
  specSection: string;
  /** Required cases decide the exit code; optional ones are reported only. */
  required: boolean;
  run(context: CaseContext): Promise<CaseVerdict>;
}

export interface CaseContext {
  readonly deviceId: string;
  readonly kind: 'mqtt' | 'rest';
  /** Every answer must arrive within this. */
  readonly deadlineMs: number;
  /** How long raw cases wait for a duplicate after the first answer. */
  readonly quietMs: number;
  /** How long a device may take to come back after reset_device. */
  readonly resetDeadlineMs: number;
  /** Send a command; the timeout defaults to the deadline. */
  send(command: string, params: unknown, timeoutMs?: number): Promise<HarnessOutcome>;
  /** Publish a raw payload and collect this device's answers (window defaults to the deadline); undefined on targets without wire access. */
  readonly raw: ((command: string, payload: Uint8Array | string, windowMs?: number) => Promise<RawAnswer[]>) | undefined;
  /** Answers seen on the wrong topics so far; undefined on targets that cannot see topics. */
  foreignAnswers(): ForeignAnswer[] | undefined;
  /** Wait on real time: only for properties that are about time (the RTC ticking). */
  wait(ms: number): Promise<void>;
}

export const pass = (message = 'ok'): CaseVerdict => ({ status: 'pass', message });
export const fail = (message: string): CaseVerdict => ({ status: 'fail', message });
export const notApplicable = (message: string): CaseVerdict => ({ status: 'not-applicable', message });

export const needsRaw = (): CaseVerdict =>
  notApplicable('needs a direct broker connection to send raw payloads and see topics; run the harness with an MQTT target to check this');

export const commandSection = (command: string): string => `4. Commands > \`${command}\``;
export const sections = {
  messages: '2. Messages',
  commands: '4. Commands',
  errors: '5. Errors',
  limits: '6. Limits',
} as const;

/** `sent set_gpio {"number":67,"value":1}` */
export function showRequest(command: string, params: unknown): string {
  return `sent ${command} ${JSON.stringify(params)}`;
}

/** What came back, in the words a firmware developer can act on. */
export function showOutcome(outcome: HarnessOutcome): string {
  switch (outcome.status) {
    case 'ok':
      return outcome.answer ? `the device answered ${outcome.answer.payload}` : `the device answered ${JSON.stringify(outcome.result)}`;
    case 'device-error': {
      const { error } = outcome;
      const who = outcome.source === 'server' ? 'the server refused it before it reached the device' : 'the device answered';
      const field = error.field === undefined ? ' without field' : ` with field "${error.field}"`;
      return `${who} error ${error.name ?? '(no name)'} (code ${error.code})${field}: ${JSON.stringify(error.message)}`;
    }
    case 'timeout':
      return `no answer within ${outcome.timeoutMs} ms`;
    case 'unavailable':
      return `the request could not be delivered: ${outcome.message}`;
    case 'invalid-answer':
      return `the device answered ${outcome.answer.payload} on ${outcome.answer.topic}, which is not a valid answer: ${outcome.problem}`;
  }
}

/** Raw answers in one line each. */
export function showRaw(answers: RawAnswer[]): string {
  if (answers.length === 0) return 'no answer';
  return answers.map((answer) => `${answer.topic} ${truncate(answer.payload.toString('utf8'), 200)}`).join('; ');
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}

/** Structural equality for JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
