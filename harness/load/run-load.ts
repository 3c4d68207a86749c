/**
 * Latency and load: send one command over and over, to one device or spread over several, and
 * measure every answer.
 *
 * - closed loop: `concurrency` workers each send, wait for the answer, send again. Measures what
 *   the device sustains; latency is send-to-answer.
 * - fixed rate: requests leave on a schedule (`rate` per second) whether or not earlier ones were
 *   answered, at most `concurrency` in flight. Latency is measured from the scheduled send time, so
 *   a stalled device shows up in the percentiles instead of silently lowering the rate (the
 *   "coordinated omission" trap).
 */
import { commands, isCommandName } from '../../firmware-protocol/index.ts';
import type { DeviceTarget, HarnessOutcome } from '../targets/types.ts';
import { LatencyRecorder, type LatencySummary } from './latency.ts';

export interface LoadOptions {
  mode: 'closed' | 'rate';
  /** Command to send (default get_status) and its params (default the spec example's, or {}). */
  command?: string;
  params?: unknown;
  /** Closed loop: number of workers (default 1). Fixed rate: most requests in flight (default 1000). */
  concurrency?: number;
  /** Fixed rate: requests per second over all devices. */
  rate?: number;
  /** Stop after this long... */
  durationMs?: number;
  /** ...or after this many requests, whichever comes first. */
  count?: number;
  /** Deadline per request (default 5000). */
  timeoutMs?: number;
  /** Called once a second with the last second's figures (for a live view). */
  onSecond?(stats: SecondStats): void;
}

export interface SecondStats {
  /** Seconds since the start (0 = the first second). */
  second: number;
  sent: number;
  ok: number;
  errors: number;
  timeouts: number;
}

export interface LoadSummary {
  mode: 'closed' | 'rate';
  command: string;
  devices: number;
  concurrency: number;
  rate?: number;
  durationMs: number;
  sent: number;
  ok: number;
  deviceErrors: number;
  timeouts: number;
  unavailable: number;
  invalidAnswers: number;
  /** Fixed rate only: scheduled sends skipped because `concurrency` requests were already in flight. */
  skipped: number;
  /** Answers (ok) per second, from the start to the last ok answer. */
  throughputPerSec: number;
  perSecond: SecondStats[];
  /** Latency of ok answers. */
  latency: LatencySummary;
}

export class LoadOptionsError extends Error {
  override readonly name = 'LoadOptionsError';
}

export async function runLoad(targets: DeviceTarget[], options: LoadOptions): Promise<LoadSummary> {
  const settings = checkOptions(targets, options);
  const tally = new Tally(options.onSecond);
  const startedAt = performance.now();
  tally.start(startedAt);
  if (options.mode === 'closed') await closedLoop(targets, settings, tally);
  else await fixedRate(targets, settings, tally);
  const durationMs = performance.now() - startedAt;
  tally.stop();
  return tally.summary({
    mode: options.mode,
    command: settings.command,
    devices: targets.length,
    concurrency: settings.concurrency,
    ...(options.mode === 'rate' ? { rate: settings.rate } : {}),
    durationMs: Math.round(durationMs),
  });
}

interface Settings {
  command: string;
  params: unknown;
  concurrency: number;
  rate: number;
  count: number;
  durationMs: number;
  timeoutMs: number;
}

/** What is wrong with these options, or undefined when a run can start (the CLI checks before connecting). */
export function loadOptionsProblem(options: LoadOptions): string | undefined {
  if (options.mode !== 'closed' && options.mode !== 'rate') return 'load mode must be "closed" or "rate"';
  if (options.durationMs === undefined && options.count === undefined) return 'load needs a duration or a count';
  if (options.durationMs !== undefined && !(options.durationMs > 0)) return 'load duration must be above 0 ms';
  if (options.count !== undefined && !(Number.isInteger(options.count) && options.count > 0)) return 'load count must be a whole number above 0';
  if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency > 0)) return 'load concurrency must be a whole number above 0';
  if (options.mode === 'rate' && !(options.rate !== undefined && options.rate > 0)) return 'fixed-rate load needs a rate above 0 per second';
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) return 'load timeout must be above 0 ms';
  return undefined;
}

function checkOptions(targets: DeviceTarget[], options: LoadOptions): Settings {
  if (targets.length === 0) throw new LoadOptionsError('load needs at least one device');
  const problem = loadOptionsProblem(options);
  if (problem) throw new LoadOptionsError(problem);
  const concurrency = options.concurrency ?? (options.mode === 'closed' ? 1 : 1000);
  const command = options.command ?? 'get_status';
  return {
    command,
    params: options.params ?? (isCommandName(command) ? commands[command].example.request : {}),
    concurrency,
    rate: options.rate ?? 0,
    count: options.count ?? Number.POSITIVE_INFINITY,
    durationMs: options.durationMs ?? Number.POSITIVE_INFINITY,
    timeoutMs: options.timeoutMs ?? 5000,
  };
}

async function closedLoop(targets: DeviceTarget[], settings: Settings, tally: Tally): Promise<void> {
  const stopAt = performance.now() + settings.durationMs;
  let issued = 0;
  const worker = async () => {
    while (issued < settings.count && performance.now() < stopAt) {
      const target = targets[issued % targets.length]!;
      issued++;
      const sentAt = performance.now();
      tally.sent(sentAt);
      const outcome = await target.command(settings.command, settings.params, settings.timeoutMs);
      tally.done(outcome, sentAt, performance.now());
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
}

async function fixedRate(targets: DeviceTarget[], settings: Settings, tally: Tally): Promise<void> {
  const intervalMs = 1000 / settings.rate;
  const startedAt = performance.now();
  const stopAt = startedAt + settings.durationMs;
  const inflight = new Set<Promise<void>>();
  let issued = 0;
  for (;;) {
    const now = performance.now();
    // Every send scheduled up to now (or, at the end, strictly before the stop time) is due:
    // timers fire late under load, and the schedule must not drift because of it.
    const scheduled = now >= stopAt ? Math.ceil((stopAt - startedAt) / intervalMs) : Math.floor((now - startedAt) / intervalMs) + 1;
    const due = Math.min(settings.count, scheduled);
    while (issued < due) {
      const scheduledAt = startedAt + issued * intervalMs;
      const target = targets[issued % targets.length]!;
      issued++;
      if (inflight.size >= settings.concurrency) {
        tally.skip();
        continue;
      }
      tally.sent(scheduledAt);
      const request: Promise<void> = target
        .command(settings.command, settings.params, settings.timeoutMs)
        .then((outcome) => tally.done(outcome, scheduledAt, performance.now()))
        .finally(() => inflight.delete(request));
      inflight.add(request);
    }
    if (now >= stopAt || issued >= settings.count) break;
    await pause(Math.max(0, Math.min(startedAt + issued * intervalMs, stopAt) - performance.now()));
  }
  await Promise.all(inflight);
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Counts per outcome and per second, and the latency histogram. */
class Tally {
  private readonly latency = new LatencyRecorder();
  private readonly seconds: SecondStats[] = [];
  private counts = { sent: 0, ok: 0, deviceErrors: 0, timeouts: 0, unavailable: 0, invalidAnswers: 0, skipped: 0 };
  private origin = 0;
  private lastOkAt = 0;
  private ticker: NodeJS.Timeout | undefined;
  private reported = 0;

  constructor(private readonly onSecond?: (stats: SecondStats) => void) {}

  start(origin: number): void {
    this.origin = origin;
    if (this.onSecond) {
      this.ticker = setInterval(() => this.flushSeconds(Math.floor((performance.now() - this.origin) / 1000)), 1000);
      this.ticker.unref();
    }
  }

  stop(): void {
    clearInterval(this.ticker);
    this.flushSeconds(this.seconds.length);
  }

  sent(at: number): void {
    this.counts.sent++;
    this.second(at).sent++;
  }

  skip(): void {
    this.counts.skipped++;
  }

  done(outcome: HarnessOutcome, sentAt: number, at: number): void {
    const second = this.second(at);
    switch (outcome.status) {
      case 'ok':
        this.counts.ok++;
        this.lastOkAt = Math.max(this.lastOkAt, at);
        second.ok++;
        this.latency.record(at - sentAt);
        return;
      case 'timeout':
        this.counts.timeouts++;
        second.timeouts++;
        second.errors++;
        return;
      case 'device-error':
        this.counts.deviceErrors++;
        break;
      case 'unavailable':
        this.counts.unavailable++;
        break;
      case 'invalid-answer':
        this.counts.invalidAnswers++;
        break;
    }
    second.errors++;
  }

  summary(head: Pick<LoadSummary, 'mode' | 'command' | 'devices' | 'concurrency' | 'rate' | 'durationMs'>): LoadSummary {
    return {
      ...head,
      ...this.counts,
      // Over the time answers flowed: requests left hanging until their timeout must not dilute it.
      throughputPerSec: this.lastOkAt > this.origin ? Math.round((this.counts.ok / (this.lastOkAt - this.origin)) * 1000 * 10) / 10 : 0,
      perSecond: this.seconds.map((stats) => ({ ...stats })),
      latency: this.latency.summary(),
    };
  }

  private second(at: number): SecondStats {
    const index = Math.max(0, Math.floor((at - this.origin) / 1000));
    while (this.seconds.length <= index) this.seconds.push({ second: this.seconds.length, sent: 0, ok: 0, errors: 0, timeouts: 0 });
    return this.seconds[index]!;
  }

  /** Report every completed second not reported yet. */
  private flushSeconds(upTo: number): void {
    if (!this.onSecond) return;
    for (; this.reported < Math.min(upTo, this.seconds.length); this.reported++) this.onSecond({ ...this.seconds[this.reported]! });
  }
}
