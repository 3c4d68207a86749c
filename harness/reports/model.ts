/** Everything one harness run produced, in one plain object: the JSON report is exactly this. */
import type { SuiteResult } from '../conformance/runner.ts';
import type { LoadSummary } from '../load/run-load.ts';

/** 0 all required cases pass; 1 a required case failed; 2 setup error; 3 the device never answered. */
export type ExitCode = 0 | 1 | 2 | 3;

export const exitCodes = { ok: 0, requiredFailed: 1, setupError: 2, neverAnswered: 3 } as const;

export interface RunReport {
  tool: 'iotcloud harness';
  /** Version of the report's shape; bump when a field changes meaning. */
  reportVersion: 1;
  target: { kind: 'mqtt' | 'rest'; deviceId: string; where: string };
  startedAt: string;
  durationMs: number;
  settings: { deadlineMs: number; resetDeadlineMs: number };
  conformance?: SuiteResult;
  load?: LoadSummary;
  exitCode: ExitCode;
  /** One line saying why the run ended with this exit code. */
  verdict: string;
  /** Anything else worth reading: the spawned device's last output, setup problems. */
  notes: string[];
}
