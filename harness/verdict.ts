/** From results to the exit code, the one-line verdict and the report object. */
import type { SuiteResult } from './conformance/runner.ts';
import type { LoadSummary } from './load/run-load.ts';
import { exitCodes, type ExitCode, type LoadThresholds, type RunReport, type ThresholdCheck } from './reports/model.ts';
import { describeCheck, describeCounts } from './reports/wording.ts';
import type { DeviceTarget } from './targets/types.ts';

export interface ReportInput {
  target: Pick<DeviceTarget, 'kind' | 'deviceId' | 'describe'>;
  startedAt: Date;
  durationMs: number;
  settings: RunReport['settings'];
  conformance?: SuiteResult;
  load?: LoadSummary;
  thresholds?: LoadThresholds;
  firmware?: string;
  notes?: string[];
}

export function makeReport(input: ReportInput): RunReport {
  const thresholds = input.load && input.thresholds ? checkThresholds(input.load, input.thresholds) : undefined;
  const { exitCode, verdict } = judge(input.conformance, input.load, thresholds);
  return {
    tool: 'iotcloud harness',
    reportVersion: 1,
    target: { kind: input.target.kind, deviceId: input.target.deviceId, where: input.target.describe() },
    startedAt: input.startedAt.toISOString(),
    durationMs: Math.round(input.durationMs),
    settings: input.settings,
    ...(input.conformance ? { conformance: input.conformance } : {}),
    ...(input.load ? { load: input.load } : {}),
    ...(thresholds && thresholds.length > 0 ? { thresholds } : {}),
    ...(input.firmware ? { firmware: input.firmware } : {}),
    exitCode,
    verdict,
    notes: input.notes ?? [],
  };
}

export function judge(
  conformance: SuiteResult | undefined,
  load: LoadSummary | undefined,
  thresholds: ThresholdCheck[] = [],
): { exitCode: ExitCode; verdict: string } {
  const loadAnswered = load ? load.ok + load.deviceErrors + load.invalidAnswers : 0;
  if (conformance && conformance.answers === 0 && loadAnswered === 0) {
    return { exitCode: exitCodes.neverAnswered, verdict: `the device never answered (${conformance.requests} requests sent)` };
  }
  if (!conformance && load && loadAnswered === 0) {
    return { exitCode: exitCodes.neverAnswered, verdict: `the device never answered (${load.sent} requests sent)` };
  }
  if (conformance) {
    const failed = conformance.cases.filter((result) => result.status === 'fail' && result.required);
    if (failed.length > 0) {
      const names = failed.slice(0, 5).map((result) => result.id).join(', ');
      return { exitCode: exitCodes.requiredFailed, verdict: `${failed.length} required case(s) failed: ${names}${failed.length > 5 ? ', ...' : ''}` };
    }
  }
  const missed = thresholds.filter((check) => !check.passed);
  if (missed.length > 0) {
    return { exitCode: exitCodes.thresholdMissed, verdict: `load threshold missed: ${missed.map(describeCheck).join('; ')}` };
  }
  if (conformance) return { exitCode: exitCodes.ok, verdict: `every required case passed: ${describeCounts(conformance.counts)}` };
  return { exitCode: exitCodes.ok, verdict: `load run finished: ${load!.ok} of ${load!.sent} answered ok` };
}

/** Each given threshold against the run's figures. The error rate counts every sent request not answered ok. */
export function checkThresholds(load: LoadSummary, thresholds: LoadThresholds): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  const round = (value: number) => Math.round(value * 1000) / 1000;
  if (thresholds.maxP99Ms !== undefined) {
    // No ok answer means no latency to judge: such a run fails on its error rate, or as "never answered".
    const actual = load.ok === 0 ? Number.POSITIVE_INFINITY : load.latency.p99Ms;
    checks.push({ name: 'max-p99', limit: thresholds.maxP99Ms, actual, unit: 'ms', passed: actual <= thresholds.maxP99Ms });
  }
  if (thresholds.maxErrorRatePct !== undefined) {
    const actual = load.sent === 0 ? 0 : round(((load.sent - load.ok) / load.sent) * 100);
    checks.push({ name: 'max-error-rate', limit: thresholds.maxErrorRatePct, actual, unit: '%', passed: actual <= thresholds.maxErrorRatePct });
  }
  if (thresholds.minThroughputPerSec !== undefined) {
    const actual = load.throughputPerSec;
    checks.push({ name: 'min-throughput', limit: thresholds.minThroughputPerSec, actual, unit: '/s', passed: actual >= thresholds.minThroughputPerSec });
  }
  return checks;
}
