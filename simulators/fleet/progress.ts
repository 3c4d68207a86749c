/**
 * Live progress of a fleet run. On a terminal: one status line redrawn in place. Anywhere else
 * (CI logs, pipes, a supervising program): one JSON object per line at a fixed interval, so the
 * output can be graphed or checked with `jq` and never contains escape codes.
 */
import type { FleetProgress } from './fleet.ts';
import type { ProfilePlan } from './shares.ts';

/** Where progress goes: a stream-like object (process.stdout fits). */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type RunPhase = FleetProgress['phase'] | 'provisioning';

export interface RunProgress extends Omit<FleetProgress, 'phase'> {
  phase: RunPhase;
  /** Connections made per second since the previous report (set by ProgressReporter). */
  connectRatePerSecond?: number;
}

/** Connections made so far: the ones up now and the ones that ended. */
const connectionsMade = (progress: RunProgress) => progress.connected + progress.disconnects;

export type StopReason = 'signal' | 'duration' | 'aborted' | 'error';

export interface FleetSummary extends RunProgress {
  reason: StopReason;
  /** Devices connected when shutdown began (`connected` is what remained after it: 0 after a clean one). */
  connectedAtStop: number;
  /** Ms from the first connection until every device was connected at once; absent if that never happened. */
  rampMs?: number;
  /** Devices / ramp time. */
  connectsPerSecond?: number;
  profiles: { label: string; devices: number }[];
  /** With clean-up: the devices this run registered and then unregistered, or why that stopped. */
  cleanup?: CleanupResult;
}

export interface CleanupResult {
  unregistered: number;
  /** Already gone (unregistered by someone else meanwhile). */
  notFound: number;
  /** Registered by this run and still registered: the clean-up failed with `error`. */
  left: number;
  error?: string;
}

/** Which devices run which profile, for people: counts and the first names of each group (groups are interleaved, not ranges). */
export function planText(plan: ProfilePlan, nameOf: (index: number) => string): string {
  const shown = 3;
  const groups = plan.groups.map((group, groupIndex) => {
    const names: string[] = [];
    for (let index = 0; index < plan.groupOf.length && names.length < shown; index++) if (plan.groupOf[index] === groupIndex) names.push(nameOf(index));
    return `${group.label}: ${group.devices} device${group.devices === 1 ? '' : 's'}${names.length > 0 ? ` (${names.join(', ')}${group.devices > shown ? ', ...' : ''})` : ''}`;
  });
  return `profiles  ${groups.join('; ')}`;
}

const MB = 1024 * 1024;

/** One JSON line: `{"type":"progress",...}` or `{"type":"summary",...}`. */
export function jsonLine(type: 'progress' | 'summary', progress: RunProgress | FleetSummary): string {
  return `${JSON.stringify({ type, ...progress })}\n`;
}

/** One device joining the fleet, for machines: `{"type":"device","index":0,"name":...,"deviceId":...,"profile":...}`. */
export interface DeviceRecord {
  index: number;
  name: string;
  deviceId: string;
  profile: string;
}

/** The terminal status line (no newline). */
export function statusLine(progress: RunProgress): string {
  const parts = [
    `${(progress.elapsedMs / 1000).toFixed(1)}s ${progress.phase}`,
    `provisioned ${progress.provisioned}/${progress.size}`,
    `connecting ${progress.connecting}`,
    progress.connectRatePerSecond === undefined ? `connected ${progress.connected}` : `connected ${progress.connected} (+${progress.connectRatePerSecond}/s)`,
    `failed ${progress.failed}`,
    `answered ${progress.answered}`,
    `protocol errors ${progress.protocolErrors}`,
    `reconnects ${progress.reconnects}`,
    `rss ${Math.round(progress.rssBytes / MB)} MB heap ${Math.round(progress.heapUsedBytes / MB)} MB`,
  ];
  const error = progress.errors[0];
  if (error) parts.push(`${error.count}x ${error.message}`);
  return parts.join(' | ');
}

/** The final counters, for people. */
export function summaryText(summary: FleetSummary): string {
  const lines = [
    `fleet stopped (${reasonText[summary.reason]}) after ${(summary.elapsedMs / 1000).toFixed(1)} s`,
    `  devices      ${summary.provisioned} provisioned of ${summary.size}; ${summary.connectedAtStop} connected at stop, ${summary.connected} left connected after shutdown`,
    `  ramp-up      ${summary.rampMs === undefined ? 'not every device connected' : `all connected in ${(summary.rampMs / 1000).toFixed(1)} s (${summary.connectsPerSecond} connects/s)`}`,
    `  connections  ${summary.failed} failed first attempts, ${summary.reconnects} reconnects, ${summary.disconnects} disconnects, ${summary.resets} resets`,
    `  commands     ${summary.received} received, ${summary.answered} answered (${summary.protocolErrors} protocol errors), ${summary.dropped} dropped, ${summary.malformed} malformed, ${summary.late} late, ${summary.sendFailures} not sent`,
    `  memory       rss ${Math.round(summary.rssBytes / MB)} MB, heap ${Math.round(summary.heapUsedBytes / MB)} MB (${summary.allocator} malloc)`,
    `  profiles     ${summary.profiles.map((profile) => `${profile.label} x${profile.devices}`).join(', ')}`,
  ];
  if (summary.cleanup) lines.push(`  clean-up     ${cleanupText(summary.cleanup)}`);
  if (summary.errors.length > 0) {
    lines.push('  errors');
    for (const error of summary.errors) lines.push(`    ${String(error.count).padStart(6)}x ${error.message}`);
  }
  return `${lines.join('\n')}\n`;
}

function cleanupText(cleanup: CleanupResult): string {
  const done = `${cleanup.unregistered} devices unregistered${cleanup.notFound > 0 ? ` (${cleanup.notFound} were already gone)` : ''}`;
  return cleanup.error === undefined ? done : `${done}; ${cleanup.left} still registered: ${cleanup.error}`;
}

const reasonText: Record<StopReason, string> = {
  signal: 'interrupted',
  duration: 'duration reached',
  aborted: 'stopped by the caller',
  error: 'error',
};

/** Writes progress every interval until stopped: redrawn line on a TTY, JSON lines elsewhere. */
export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private lineShown = false;
  private previous: { elapsedMs: number; connections: number } | undefined;

  constructor(
    private readonly sink: ProgressSink,
    private readonly source: () => RunProgress,
    private readonly options: { json: boolean; intervalMs: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.report(), this.options.intervalMs);
  }

  report(): void {
    const progress = this.withConnectRate(this.source());
    if (this.options.json) {
      this.sink.write(jsonLine('progress', progress));
      return;
    }
    const width = Math.max(20, (this.sink.columns || 160) - 1); // a pty with no size reports 0 columns
    const line = statusLine(progress);
    this.sink.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    this.lineShown = true;
  }

  /** The ramp as it happens: connections made per second since the last report. */
  private withConnectRate(progress: RunProgress): RunProgress {
    const now = { elapsedMs: progress.elapsedMs, connections: connectionsMade(progress) };
    const before = this.previous;
    this.previous = now;
    if (!before || now.elapsedMs <= before.elapsedMs) return progress;
    return { ...progress, connectRatePerSecond: Math.round(((now.connections - before.connections) * 1000) / (now.elapsedMs - before.elapsedMs)) };
  }

  /** Stop redrawing and print the summary. */
  finish(summary: FleetSummary): void {
    clearInterval(this.timer);
    if (this.options.json) {
      this.sink.write(jsonLine('summary', summary));
      return;
    }
    if (this.lineShown) this.sink.write('\r\x1b[2K');
    this.sink.write(summaryText(summary));
  }

  /** A device joining the fleet: a JSON line for machines (people get planText once). */
  device(record: DeviceRecord): void {
    if (this.options.json) this.sink.write(`${JSON.stringify({ type: 'device', ...record })}\n`);
  }

  /** The clean-up's progress after each batch: a JSON line for machines; for people, a line per batch once it is long enough to wait for. */
  cleanup(done: number, total: number): void {
    if (this.options.json) this.sink.write(`${JSON.stringify({ type: 'cleanup', done, total })}\n`);
    else if (total > 1000) this.note(`cleaning up: ${done} of ${total} unregistered`);
  }

  /** A line of text between redraws (e.g. "stopping..."). */
  note(text: string): void {
    if (this.options.json) return;
    if (this.lineShown) this.sink.write('\r\x1b[2K');
    this.sink.write(`${text}\n`);
    this.lineShown = false;
  }
}
