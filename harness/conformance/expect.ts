/** Checks shared by cases: a good answer, an INVALID_PARAMS answer, an error answer to a raw payload. */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { commands, errorCodes, isCommandName, responseTopic, type CommandName, type ErrorName } from '../../firmware-protocol/index.ts';
import type { HarnessOutcome, RawAnswer } from '../targets/types.ts';
import { fail, jsonEqual, notApplicable, pass, showOutcome, showRaw, showRequest, type CaseContext, type CaseVerdict } from './case.ts';

const responseChecks = new Map<CommandName, TypeCheck<TSchema>>();
function responseCheck(command: CommandName): TypeCheck<TSchema> {
  let check = responseChecks.get(command);
  if (!check) responseChecks.set(command, (check = TypeCompiler.Compile(commands[command].response)));
  return check;
}

/**
 * Why a result does not fit the request, or undefined. Besides the response schema, a response
 * field named like a request field must echo it (set_gpio answers the pin and level it set,
 * get_gpio the pin it read, write_uart the data it wrote).
 */
export function resultProblem(command: string, params: unknown, result: Record<string, unknown>): string | undefined {
  if (!isCommandName(command)) return undefined;
  const check = responseCheck(command);
  if (!check.Check(result)) {
    const first = check.Errors(result).First();
    return `the answer does not match the ${command} response schema: ${first?.path || '/'} ${first?.message ?? ''}`.trim();
  }
  const requestFields = Object.keys(commands[command].request.properties);
  const sent = (params ?? {}) as Record<string, unknown>;
  for (const field of requestFields) {
    if (field in result && field in sent && !jsonEqual(result[field], sent[field])) {
      return `the answer's ${field} is ${JSON.stringify(result[field])}, expected the ${JSON.stringify(sent[field])} that was sent`;
    }
  }
  return undefined;
}

export type OkOrVerdict = { ok: true; result: Record<string, unknown>; outcome: HarnessOutcome } | { ok: false; verdict: CaseVerdict };

/** Send a valid command and expect a well-formed answer that fits the request. */
export async function expectOk(context: CaseContext, command: string, params: unknown, timeoutMs?: number): Promise<OkOrVerdict> {
  const outcome = await context.send(command, params, timeoutMs);
  if (outcome.status !== 'ok') {
    return { ok: false, verdict: fail(`${showRequest(command, params)}; expected a ${command} answer; ${showOutcome(outcome)}`) };
  }
  const problem = resultProblem(command, params, outcome.result);
  if (problem) return { ok: false, verdict: fail(`${showRequest(command, params)}; ${problem}; ${showOutcome(outcome)}`) };
  return { ok: true, result: outcome.result, outcome };
}

/** Send invalid params and expect INVALID_PARAMS naming `field`. */
export async function expectInvalidParams(context: CaseContext, command: string, params: unknown, field: string): Promise<CaseVerdict> {
  const outcome = await context.send(command, params);
  const sent = showRequest(command, params);
  const expected = `expected error INVALID_PARAMS (code ${errorCodes.INVALID_PARAMS}) with field "${field}"`;
  if (outcome.status === 'device-error' && outcome.source === 'server') {
    return notApplicable(`${sent}; the server validated it and refused it before it reached the device, so the device's own validation is not exercised (use an MQTT target)`);
  }
  if (outcome.status === 'ok') return fail(`${sent}; ${expected}; but the device accepted it: ${showOutcome(outcome)}`);
  if (outcome.status !== 'device-error') return fail(`${sent}; ${expected}; ${showOutcome(outcome)}`);
  if (outcome.error.code !== errorCodes.INVALID_PARAMS) return fail(`${sent}; ${expected}; ${showOutcome(outcome)}`);
  if (outcome.error.field !== field) {
    return fail(`${sent}; ${expected}; ${showOutcome(outcome)} (\`field\` must be the JSON pointer of the offending field)`);
  }
  return pass(`INVALID_PARAMS with field "${field}"`);
}

export interface RawExpectation {
  /** The error the one answer must carry. */
  error: ErrorName;
  /** The cid the answer must echo; undefined when the payload's cid cannot be read (no cid expected). */
  cid?: string;
}

/**
 * Publish a raw payload and expect exactly one error answer on the command's answer topic.
 * Silence is the typical firmware bug here (the parser failed and the message was dropped).
 */
export async function expectRawError(context: CaseContext, command: string, payload: Uint8Array | string, what: string, expectation: RawExpectation): Promise<CaseVerdict> {
  if (!context.raw) return notApplicable('needs a direct broker connection to send raw payloads; run the harness with an MQTT target to check this');
  const answers = await context.raw(command, payload);
  const code = errorCodes[expectation.error];
  const expected = `expected exactly one answer on ${responseTopic(context.deviceId, command)} with error ${expectation.error} (code ${code})`;
  const verdict = checkSingleAnswer(context, command, answers, `sent ${what} on ${context.deviceId}/${command}; ${expected}`);
  if (verdict) return verdict;
  const answer = answers[0]!;
  const body = parseObject(answer.payload);
  const error = body?.error as Record<string, unknown> | undefined;
  if (!error || typeof error !== 'object' || error.code !== code) {
    return fail(`sent ${what}; ${expected}; the device answered ${showRaw(answers)}`);
  }
  if (expectation.cid !== undefined && body?.cid !== expectation.cid) {
    return fail(`sent ${what} with cid "${expectation.cid}"; the error answer must echo it; the device answered ${showRaw(answers)}`);
  }
  return pass(`${expectation.error} answered once`);
}

/** Exactly one answer, on the right topic; undefined when so. */
export function checkSingleAnswer(context: CaseContext, command: string, answers: RawAnswer[], prefix: string): CaseVerdict | undefined {
  if (answers.length === 0) return fail(`${prefix}; no answer within ${context.deadlineMs} ms (a device must answer every request, even one it cannot parse)`);
  const topic = responseTopic(context.deviceId, command);
  const wrong = answers.filter((answer) => answer.topic !== topic);
  if (wrong.length > 0) return fail(`${prefix}; answers arrived on the wrong topic: ${showRaw(wrong)}`);
  if (answers.length > 1) return fail(`${prefix}; the device answered ${answers.length} times (exactly once expected): ${showRaw(answers)}`);
  return undefined;
}

export function parseObject(payload: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
