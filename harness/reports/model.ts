/** Everything one harness run produced, in one plain object: the JSON report is exactly this. */
import type { SuiteResult } from '../conformance/runner.ts';
import type { LoadSummary } from '../load/run-load.ts';

/**
 * 0 all required cases pass; 1 a required case failed; 2 setup error; 3 the device never answered;
 * 4 a load threshold (--max-p99, --max-error-rate, --min-throughput) was missed.
 */
export type ExitCode = 0 | 1 | 2 | 3 | 4;

export const exitCodes = { ok: 0, requiredFailed: 1, setupError: 2, neverAnswered: 3, thresholdMissed: 4 } as const;

/** What each exit code means, in the words the summary's last line and the reports use. */
export const exitMeanings: Record<ExitCode, string> = {
  0: 'everything checked passed',
  1: 'a required case failed',
  2: 'setup error: the run could not start, nothing was tested',
  3: 'the device never answered',
  4: 'a load threshold was missed',
};

/** Limits a load run must keep for the run to pass; absent ones are not checked. */
export interface LoadThresholds {
  /** Highest acceptable p99 of ok answers, in ms. */
  maxP99Ms?: number;
  /** Highest acceptable share of sent requests not answered ok (timeouts, errors, invalid, unavailable), in percent. */
  maxErrorRatePct?: number;
  /** Lowest acceptable ok answers per second. */
  minThroughputPerSec?: number;
}

/** One threshold as judged, for reports. */
export interface ThresholdCheck {
  name: 'max-p99' | 'max-error-rate' | 'min-throughput';
  limit: number;
  actual: number;
  unit: string;
  passed: boolean;
}

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
  /** The load thresholds checked, when any were given. */
  thresholds?: ThresholdCheck[];
  /** Firmware version or build id of the device under test, as the user named it (--firmware). */
  firmware?: string;
  exitCode: ExitCode;
  /** One line saying why the run ended with this exit code. */
  verdict: string;
  /** Anything else worth reading: the spawned device's last output, setup problems. */
  notes: string[];
}
