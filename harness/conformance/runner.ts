/**
 * Runs conformance cases one after another against one target. Never hangs: every request has a
 * deadline, every case a guard, and a device that has gone silent is recognised after a few cases,
 * after which the remaining cases fail at once with a message that says so.
 */
import type { DeviceTarget, HarnessOutcome, RawAnswer } from '../targets/types.ts';
import { LatencyRecorder, type LatencySummary } from '../load/latency.ts';
import type { CaseContext, CaseStatus, ConformanceCase } from './case.ts';

export interface CaseResult {
  id: string;
  description: string;
  specSection: string;
  required: boolean;
  status: CaseStatus;
  /** For a failure: what was sent, what was expected, what came back. */
  message: string;
  durationMs: number;
  /** Requests sent and device answers seen during the case. */
  requests: number;
  answers: number;
}

export interface SuiteCounts {
  total: number;
  passed: number;
  failed: number;
  notApplicable: number;
  requiredFailed: number;
  optionalFailed: number;
}

export interface SuiteResult {
  startedAt: string;
  durationMs: number;
  cases: CaseResult[];
  counts: SuiteCounts;
  requests: number;
  /** Answers from the device itself (server-side rejections through REST do not count). */
  answers: number;
  /** Latency of every device answer during the run. */
  latency: LatencySummary;
}

export interface RunSuiteOptions {
  deadlineMs: number;
  /** How long raw cases wait for duplicates after the first answer. Default 100. */
  quietMs?: number;
  /** How long reset_device may take to come back. Default 15000. */
  resetDeadlineMs?: number;
  /** While the device has never answered, give up after this many silent cases in a row. Default 3. */
  silentCasesBeforeGivingUp?: number;
  /** After the device has answered, give up when it then stays silent for this many cases in a row. Default 6. */
  silentCasesAfterAnswers?: number;
  /** The device under test's failure (harness/dut.ts): once it has one, the case in flight and
   * every later case fail at once with that cause instead of running into their deadlines. */
  abortOn?: { failure(): string | undefined; failed: Promise<string> };
  onCaseStart?(index: number, total: number, entry: ConformanceCase): void;
  onCaseDone?(index: number, total: number, result: CaseResult): void;
}

export async function runSuite(target: DeviceTarget, cases: ConformanceCase[], options: RunSuiteOptions): Promise<SuiteResult> {
  const startedAt = new Date();
  const runStart = performance.now();
  const latency = new LatencyRecorder();
  const quietMs = options.quietMs ?? 100;
  const resetDeadlineMs = options.resetDeadlineMs ?? 15_000;
  const giveUpNever = options.silentCasesBeforeGivingUp ?? 3;
  const giveUpAfter = options.silentCasesAfterAnswers ?? 6;
  const results: CaseResult[] = [];
  let requests = 0;
  let answers = 0;
  let silentStreak = 0;
  let giveUpReason: string | undefined;

  for (const [index, entry] of cases.entries()) {
    options.onCaseStart?.(index, cases.length, entry);
    let result: CaseResult;
    const failure = options.abortOn?.failure();
    if (failure && !giveUpReason?.startsWith('the device under test failed')) giveUpReason = `the device under test failed: ${failure}`;
    if (giveUpReason) {
      result = { ...identity(entry), status: 'fail', message: `not run: ${giveUpReason}`, durationMs: 0, requests: 0, answers: 0 };
    } else {
      const counter = { requests: 0, answers: 0, silences: 0 };
      const context = caseContext(target, counter, latency, { deadlineMs: options.deadlineMs, quietMs, resetDeadlineMs });
      const caseStart = performance.now();
      const verdict = await guarded(entry, context, caseGuardMs(options.deadlineMs, resetDeadlineMs), options.abortOn?.failed);
      result = { ...identity(entry), ...verdict, durationMs: round1(performance.now() - caseStart), requests: counter.requests, answers: counter.answers };
      requests += counter.requests;
      answers += counter.answers;
      // Silent: something went unanswered and nothing came back. A REST server refusing a request
      // itself is neither an answer nor silence.
      silentStreak = counter.answers > 0 ? 0 : counter.silences > 0 ? silentStreak + 1 : silentStreak;
      if (answers === 0 && silentStreak >= giveUpNever) {
        giveUpReason = `the device has not answered any of the ${requests} requests sent so far (each waited up to ${options.deadlineMs} ms); is it running, connected to this broker, and subscribed to ${target.deviceId}/#?`;
      } else if (silentStreak >= giveUpAfter) {
        giveUpReason = `the device stopped answering: nothing came back during the last ${silentStreak} cases (up to "${entry.id}"); it may have crashed`;
      }
    }
    results.push(result);
    options.onCaseDone?.(index, cases.length, result);
  }

  return {
    startedAt: startedAt.toISOString(),
    durationMs: round1(performance.now() - runStart),
    cases: results,
    counts: countResults(results),
    requests,
    answers,
    latency: latency.summary(),
  };
}

export function countResults(results: CaseResult[]): SuiteCounts {
  const failed = results.filter((result) => result.status === 'fail');
  return {
    total: results.length,
    passed: results.filter((result) => result.status === 'pass').length,
    failed: failed.length,
    notApplicable: results.filter((result) => result.status === 'not-applicable').length,
    requiredFailed: failed.filter((result) => result.required).length,
    optionalFailed: failed.filter((result) => !result.required).length,
  };
}

function identity(entry: ConformanceCase): Pick<CaseResult, 'id' | 'description' | 'specSection' | 'required'> {
  return { id: entry.id, description: entry.description, specSection: entry.specSection, required: entry.required };
}

/** True when the device itself answered (a REST server refusing the request does not count). */
function deviceAnswered(outcome: HarnessOutcome): boolean {
  if (outcome.status === 'ok' || outcome.status === 'invalid-answer') return true;
  return outcome.status === 'device-error' && outcome.source !== 'server';
}

function caseContext(
  target: DeviceTarget,
  counter: { requests: number; answers: number; silences: number },
  latency: LatencyRecorder,
  settings: { deadlineMs: number; quietMs: number; resetDeadlineMs: number },
): CaseContext {
  const raw = target.raw?.bind(target);
  return {
    deviceId: target.deviceId,
    kind: target.kind,
    ...settings,
    async send(command, params, timeoutMs = settings.deadlineMs) {
      counter.requests++;
      const outcome = await target.command(command, params, timeoutMs);
      if (deviceAnswered(outcome)) {
        counter.answers++;
        latency.record(outcome.elapsedMs);
      } else if (outcome.status === 'timeout') counter.silences++;
      return outcome;
    },
    raw: raw
      ? async (command, payload, windowMs = settings.deadlineMs): Promise<RawAnswer[]> => {
          counter.requests++;
          const answers = await raw(command, payload, windowMs, { quietMs: settings.quietMs });
          counter.answers += answers.length;
          if (answers.length === 0) counter.silences++;
          return answers;
        }
      : undefined,
    foreignAnswers: () => target.foreignAnswers?.(),
    wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

/** Upper bound for one case: generous for the reset case and for many sequential requests, but finite. */
function caseGuardMs(deadlineMs: number, resetDeadlineMs: number): number {
  return 25 * deadlineMs + resetDeadlineMs + 5000;
}

async function guarded(entry: ConformanceCase, context: CaseContext, guardMs: number, died?: Promise<string>): Promise<{ status: CaseStatus; message: string }> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<{ status: CaseStatus; message: string }>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'fail', message: `the case did not finish within ${guardMs} ms` }), guardMs);
  });
  const death = died?.then((cause) => ({ status: 'fail' as const, message: `the device under test failed during this case: ${cause}` }));
  try {
    return await Promise.race([entry.run(context), guard, ...(death ? [death] : [])]);
  } catch (error) {
    return { status: 'fail', message: `harness error in this case: ${(error as Error).stack ?? String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
