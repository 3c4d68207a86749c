/**
 * One harness run: (optionally) start the device under test, open the target, run the
 * conformance suite and/or a load run, write the reports, stop everything, and answer an exit code:
 *
 *   0  every required case passed
 *   1  a required case failed
 *   2  setup error: bad options, broker or server unreachable, TLS refused, not authorised, unknown device
 *   3  the device never answered at all
 *   4  a load threshold was missed (maxP99Ms, maxErrorRatePct, minThroughputPerSec)
 *
 * The `iotcloud harness` command (cli/) maps its flags onto HarnessOptions and exits with the result.
 */
import { conformanceSuite, selectCases, type CaseFilter } from './conformance/suite.ts';
import { runSuite, type SuiteResult } from './conformance/runner.ts';
import { LoadOptionsError, loadOptionsProblem, runLoad, type LoadOptions, type LoadSummary } from './load/run-load.ts';
import { probeUntil } from './probe.ts';
import { ConsoleView } from './reports/console.ts';
import { exitCodes, type ExitCode, type LoadThresholds, type RunReport } from './reports/model.ts';
import { makeReport } from './verdict.ts';
import { reportFormats, writeReports, type ReportFormat } from './reports/write.ts';
import { DutSetupError, spawnedDut, type DeviceUnderTest } from './dut.ts';
import type { SpawnOptions } from './spawn.ts';
import { openMqttTargets, openRestTarget, openTarget, TargetSetupError, type DeviceTarget, type HarnessOutcome, type TargetSpec } from './targets/index.ts';

export interface HarnessLoadOptions extends Omit<LoadOptions, 'onSecond'> {
  /** Spread the load over these devices (default: the target's device only). */
  deviceIds?: string[];
}

export interface HarnessOptions extends CaseFilter {
  target: TargetSpec;
  /** Every answer must arrive within this (default 2000 ms). */
  deadlineMs?: number;
  /** How long reset_device may take to come back (default 15000 ms). */
  resetDeadlineMs?: number;
  /** How long raw cases wait for a duplicate answer (default 100 ms). */
  quietMs?: number;
  /** Run the conformance suite (default true). */
  conformance?: boolean;
  load?: HarnessLoadOptions;
  /** Limits the load run must keep; a miss ends the run with exit code 4. */
  thresholds?: LoadThresholds;
  /** Firmware version or build id of the device under test, for the reports. */
  firmware?: string;
  /** Where reports go (default `reports/harness` when formats are asked for). */
  reportDir?: string;
  formats?: ReportFormat[];
  /** Start the device under test first (a shell command), stop it afterwards. */
  spawn?: string | SpawnOptions;
  /** Start the device under test first (harness/dut.ts: a board on a serial line, the emulated
   * MCU, ...), stop it afterwards. Takes the place of `spawn`. */
  dut?: () => Promise<DeviceUnderTest>;
  /** With spawn or dut: how long the device may take to answer its first get_status (default 15000 ms). */
  startupTimeoutMs?: number;
  /**
   * Turns a setup error's cause (a socket or TLS error reaching the server or broker) into what
   * happened and the next step; undefined keeps the harness's own message. The CLI passes
   * cli/advice.ts, which knows the flags.
   */
  explainSetupError?: (cause: unknown) => string | undefined;
  /** Console output (default process.stdout) and its mode. */
  output?: NodeJS.WritableStream & { isTTY?: boolean };
  tty?: boolean;
  color?: boolean;
}

export interface HarnessRun {
  exitCode: ExitCode;
  /** Absent on setup errors (nothing ran). */
  report?: RunReport;
  files: string[];
}

export async function runHarness(options: HarnessOptions): Promise<number> {
  return (await executeHarness(options)).exitCode;
}

export async function executeHarness(options: HarnessOptions): Promise<HarnessRun> {
  const view = new ConsoleView(options.output ?? process.stdout, {
    ...(options.tty === undefined ? {} : { tty: options.tty }),
    ...(options.color === undefined ? {} : { color: options.color }),
  });
  const setupError = (message: string, cause?: unknown): HarnessRun => {
    const advice = cause === undefined ? undefined : options.explainSetupError?.(cause);
    view.line(`harness: setup error: ${advice ?? message}`);
    view.finalLine(exitCodes.setupError, undefined);
    return { exitCode: exitCodes.setupError, files: [] };
  };
  const problem = checkOptions(options);
  if (problem) return setupError(problem);

  const deadlineMs = options.deadlineMs ?? 2000;
  const resetDeadlineMs = options.resetDeadlineMs ?? 15_000;
  const startedAt = new Date();
  const runStart = performance.now();
  const notes: string[] = [];
  const opened: DeviceTarget[] = [];
  let dut: DeviceUnderTest | undefined;
  try {
    try {
      dut = options.dut ? await options.dut() : options.spawn ? spawnedDut(spawnOptionsFor(options.spawn, options.target)) : undefined;
    } catch (error) {
      if (error instanceof DutSetupError) return setupError(error.message);
      throw error;
    }
    if (dut) {
      view.line(dut.description);
      // Said the moment it happens: whatever fails after it is a consequence.
      void dut.failed.then((cause) => view.line(`harness: the device under test failed: ${cause}`));
    }
    const target = await openTarget(options.target);
    opened.push(target);

    if (dut || target.kind === 'rest') {
      const ready = await waitForDevice(target, deadlineMs, dut ? (options.startupTimeoutMs ?? 15_000) : deadlineMs, dut);
      if (ready.setupError) return setupError(ready.setupError, ready.cause);
      if (!ready.answered && !dut?.failure()) notes.push(dut ? `the device under test did not answer get_status within ${options.startupTimeoutMs ?? 15_000} ms of starting` : 'the device did not answer the first get_status');
    }

    let conformance: SuiteResult | undefined;
    if (options.conformance !== false) {
      const cases = selectCases(conformanceSuite(), options);
      view.suiteStart(target.describe(), cases.length);
      conformance = await runSuite(target, cases, {
        deadlineMs,
        resetDeadlineMs,
        ...(options.quietMs === undefined ? {} : { quietMs: options.quietMs }),
        ...(dut ? { abortOn: dut } : {}),
        onCaseStart: (index, total, entry) => view.caseStart(index, total, entry),
        onCaseDone: (index, total, result) => view.caseDone(index, total, result),
      });
    }

    let load: LoadSummary | undefined;
    if (options.load && !(conformance && conformance.answers === 0)) {
      const loadTargets = await openLoadTargets(options, target, opened);
      view.line(`load: ${options.load.mode === 'closed' ? 'closed loop' : `fixed rate ${options.load.rate}/s`} over ${loadTargets.length} device(s)`);
      load = await runLoad(loadTargets, { timeoutMs: deadlineMs, ...options.load, onSecond: (stats) => view.loadSecond(stats) });
    } else if (options.load) {
      notes.push('load run skipped: the device never answered during conformance');
    }

    const failure = dut?.failure();
    if (failure) notes.push(`the device under test failed: ${failure}`);
    const output = await dut?.output();
    if (output) notes.push(`console output of the device under test:\n${output}`);
    const report = makeReport({
      target,
      startedAt,
      durationMs: performance.now() - runStart,
      settings: { deadlineMs, resetDeadlineMs },
      ...(conformance ? { conformance } : {}),
      ...(load ? { load } : {}),
      ...(options.thresholds ? { thresholds: options.thresholds } : {}),
      ...(options.firmware ? { firmware: options.firmware } : {}),
      notes,
    });
    const { exitCode } = report;
    const formats = options.formats ?? [];
    const files = await writeReports(report, options.reportDir ?? 'reports/harness', formats);
    if (exitCode === exitCodes.neverAnswered && output) view.line(notes.at(-1) ?? '');
    view.summary(report, files);
    return { exitCode, report, files };
  } catch (error) {
    if (error instanceof TargetSetupError || error instanceof LoadOptionsError) return setupError(error.message, error.cause);
    return setupError(`unexpected error: ${(error as Error).stack ?? String(error)}`);
  } finally {
    for (const target of opened.reverse()) await target.close().catch(() => undefined);
    await dut?.stop();
  }
}

function checkOptions(options: HarnessOptions): string | undefined {
  const positive = (value: number | undefined, name: string) => (value !== undefined && !(Number.isFinite(value) && value > 0) ? `${name} must be a number of milliseconds above 0, got ${value}` : undefined);
  const target = options.target as Partial<TargetSpec> | undefined;
  if (!target || (target.kind !== 'mqtt' && target.kind !== 'rest')) return 'the target must be {kind: "mqtt", url, deviceId} or {kind: "rest", baseUrl, token, deviceId}';
  if (!target.deviceId) return 'the target needs a deviceId';
  if (target.kind === 'mqtt' && !('url' in target && target.url)) return 'an MQTT target needs the broker url (mqtt://host:port or mqtts://host:port)';
  if (target.kind === 'rest' && !('baseUrl' in target && target.baseUrl)) return 'a REST target needs the server url';
  if (target.kind === 'rest' && !('token' in target && target.token)) return 'a REST target needs a bearer token';
  const unknown = (options.formats ?? []).filter((format) => !reportFormats.includes(format));
  if (unknown.length > 0) return `unknown report format(s) ${unknown.join(', ')}; use ${reportFormats.join(', ')}`;
  if (options.conformance === false && !options.load) return 'nothing to do: conformance is off and no load run is configured';
  if (options.load) {
    const problem = loadOptionsProblem(options.load);
    if (problem) return problem;
    if (options.load.deviceIds && options.load.deviceIds.length === 0) return 'load deviceIds must not be empty';
  }
  return (
    positive(options.deadlineMs, 'deadlineMs') ??
    positive(options.resetDeadlineMs, 'resetDeadlineMs') ??
    positive(options.startupTimeoutMs, 'startupTimeoutMs') ??
    (options.quietMs !== undefined && !(options.quietMs >= 0) ? 'quietMs must be 0 or more' : undefined)
  );
}

function spawnOptionsFor(spawn: string | SpawnOptions, target: TargetSpec): SpawnOptions {
  const base = typeof spawn === 'string' ? { command: spawn } : spawn;
  // Tell the device under test where to connect, so one spawn command works for any broker.
  const env: Record<string, string> = { IOTCLOUD_DEVICE_ID: target.deviceId, ...(target.kind === 'mqtt' ? { IOTCLOUD_MQTT_URL: target.url } : {}) };
  return { ...base, env: { ...env, ...base.env } };
}

/** Wait until the device answers get_status at all; REST auth/ownership problems are setup errors. */
async function waitForDevice(
  target: DeviceTarget,
  deadlineMs: number,
  waitMs: number,
  dut: DeviceUnderTest | undefined,
): Promise<{ answered: boolean; setupError?: string; cause?: unknown }> {
  let refused: HarnessOutcome | undefined;
  const result = await probeUntil(
    (timeoutMs) => target.command('get_status', {}, timeoutMs),
    (outcome) => {
      if (isRefusal(outcome)) refused = outcome;
      return refused !== undefined || outcome.status === 'ok' || outcome.status === 'invalid-answer' || (outcome.status === 'device-error' && outcome.source !== 'server');
    },
    { endAt: performance.now() + waitMs, everyMs: Math.min(250, deadlineMs), timeoutMs: Math.min(deadlineMs, 1000), abandon: () => dut?.failure() !== undefined },
  );
  if (refused && refused.status === 'unavailable') return { answered: false, setupError: `get_status could not be sent: ${refused.message}`, ...('cause' in refused ? { cause: refused.cause } : {}) };
  return { answered: result.ok };
}

/**
 * What no amount of waiting fixes: the server cannot be reached, or refuses (not logged in, not your
 * device, no such device, no device bus). Other HTTP errors are left to the cases to report.
 */
function isRefusal(outcome: HarnessOutcome): boolean {
  if (outcome.status !== 'unavailable') return false;
  const httpStatus = 'httpStatus' in outcome ? outcome.httpStatus : undefined;
  return httpStatus === undefined || [401, 403, 404, 503].includes(httpStatus);
}

async function openLoadTargets(options: HarnessOptions, target: DeviceTarget, opened: DeviceTarget[]): Promise<DeviceTarget[]> {
  const ids = options.load?.deviceIds ?? [target.deviceId];
  if (ids.length === 1 && ids[0] === target.deviceId) return [target];
  const spec = options.target;
  const extra = spec.kind === 'mqtt' ? await openMqttTargets(spec, ids) : ids.map((deviceId) => openRestTarget({ ...spec, deviceId }));
  opened.push(...extra);
  return extra;
}
