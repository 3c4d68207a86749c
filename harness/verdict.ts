/** From results to the exit code, the one-line verdict and the report object. */
import type { SuiteResult } from './conformance/runner.ts';
import type { LoadSummary } from './load/run-load.ts';
import { exitCodes, type ExitCode, type RunReport } from './reports/model.ts';
import type { DeviceTarget } from './targets/types.ts';

export interface ReportInput {
  target: Pick<DeviceTarget, 'kind' | 'deviceId' | 'describe'>;
  startedAt: Date;
  durationMs: number;
  settings: RunReport['settings'];
  conformance?: SuiteResult;
  load?: LoadSummary;
  notes?: string[];
}

export function makeReport(input: ReportInput): RunReport {
  const { exitCode, verdict } = judge(input.conformance, input.load);
  return {
    tool: 'iotcloud harness',
    reportVersion: 1,
    target: { kind: input.target.kind, deviceId: input.target.deviceId, where: input.target.describe() },
    startedAt: input.startedAt.toISOString(),
    durationMs: Math.round(input.durationMs),
    settings: input.settings,
    ...(input.conformance ? { conformance: input.conformance } : {}),
    ...(input.load ? { load: input.load } : {}),
    exitCode,
    verdict,
    notes: input.notes ?? [],
  };
}

export function judge(conformance: SuiteResult | undefined, load: LoadSummary | undefined): { exitCode: ExitCode; verdict: string } {
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
    const { counts } = conformance;
    const extras = [counts.optionalFailed ? `${counts.optionalFailed} optional failed` : '', counts.notApplicable ? `${counts.notApplicable} not applicable` : ''].filter(Boolean);
    return { exitCode: exitCodes.ok, verdict: `every required case passed: ${counts.passed} of ${counts.total} passed${extras.length ? `, ${extras.join(', ')}` : ''}` };
  }
  return { exitCode: exitCodes.ok, verdict: `load run finished: ${load!.ok} of ${load!.sent} answered ok` };
}
