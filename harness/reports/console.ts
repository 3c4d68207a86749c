/**
 * The live console view. On a terminal: a progress line rewritten in place, colours, and a line
 * per finished case. Elsewhere (CI logs, pipes): plain lines only, no escape codes, so logs stay
 * readable and greppable.
 */
import { resolve } from 'node:path';
import type { ConformanceCase } from '../conformance/case.ts';
import type { CaseResult } from '../conformance/runner.ts';
import type { SecondStats } from '../load/run-load.ts';
import { exitMeanings, type ExitCode, type RunReport } from './model.ts';
import { describeCheck, describeCounts, worstFirst } from './wording.ts';

export interface ConsoleOptions {
  /** Force terminal behaviour on or off (default: the stream's isTTY). */
  tty?: boolean;
  /** Colours (default: on a terminal, unless NO_COLOR is set). */
  color?: boolean;
}

type Paint = (text: string) => string;

export class ConsoleView {
  private readonly tty: boolean;
  private readonly green: Paint;
  private readonly red: Paint;
  private readonly yellow: Paint;
  private readonly dim: Paint;
  private progressShown = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    options: ConsoleOptions = {},
  ) {
    this.tty = options.tty ?? Boolean(out.isTTY);
    const color = options.color ?? (this.tty && !process.env.NO_COLOR);
    const paint = (code: number): Paint => (color ? (value) => `\x1b[${code}m${value}\x1b[0m` : (value) => value);
    this.green = paint(32);
    this.red = paint(31);
    this.yellow = paint(33);
    this.dim = paint(2);
  }

  line(text: string): void {
    this.clearProgress();
    this.out.write(`${text}\n`);
  }

  suiteStart(where: string, total: number): void {
    this.line(`conformance: ${total} cases against ${where}`);
  }

  caseStart(index: number, total: number, entry: ConformanceCase): void {
    if (!this.tty) return;
    this.clearProgress();
    this.out.write(`${this.dim(`${counter(index, total)} running ${entry.id} ...`)}`);
    this.progressShown = true;
  }

  caseDone(index: number, total: number, result: CaseResult): void {
    const label =
      result.status === 'pass'
        ? this.green('PASS')
        : result.status === 'not-applicable'
          ? this.yellow('N/A ')
          : result.required
            ? this.red('FAIL')
            : this.yellow('WARN');
    this.line(`${counter(index, total)} ${label} ${result.id} ${this.dim(`(${result.durationMs} ms)`)}`);
    if (result.status !== 'pass') this.line(indent(result.message));
  }

  loadSecond(stats: SecondStats): void {
    this.line(`load: second ${stats.second + 1}: sent ${stats.sent}, ok ${stats.ok}, errors ${stats.errors} (timeouts ${stats.timeouts})`);
  }

  /**
   * The end of a run, for a person: what failed first (worst first), then the figures, and last
   * the one file to open and what the exit code means.
   */
  summary(report: RunReport, files: string[]): void {
    this.line(''); // set apart from the per-case lines above
    const suite = report.conformance;
    if (suite) {
      const failed = worstFirst(suite.cases).filter(({ result }) => result.status === 'fail');
      for (const { result } of failed.slice(0, maxFailuresListed)) {
        this.line(`${(result.required ? this.red : this.yellow)(`failed (${result.required ? 'required' : 'optional'})`)} ${result.id}: ${firstLine(result.message)}`);
      }
      if (failed.length > maxFailuresListed) this.line(`... and ${failed.length - maxFailuresListed} more failed case(s): see the report`);
      this.line(`conformance: ${describeCounts(suite.counts)} in ${(suite.durationMs / 1000).toFixed(2)} s`);
      if (suite.latency.count > 0) this.line(`answer latency: p50 ${suite.latency.p50Ms} ms, p99 ${suite.latency.p99Ms} ms, max ${suite.latency.maxMs} ms (${suite.latency.count} answers)`);
    }
    const load = report.load;
    if (load) {
      this.line(
        `load: ${load.sent} sent, ${load.ok} ok, ${load.deviceErrors} device errors, ${load.timeouts} timeouts, ${load.unavailable} unavailable, ${load.invalidAnswers} invalid, ${load.skipped} skipped; ${load.throughputPerSec}/s`,
      );
      this.line(`load latency: p50 ${load.latency.p50Ms} ms, p90 ${load.latency.p90Ms} ms, p99 ${load.latency.p99Ms} ms, p99.9 ${load.latency.p999Ms} ms, max ${load.latency.maxMs} ms`);
    }
    for (const check of report.thresholds ?? []) this.line(`threshold: ${(check.passed ? this.green : this.red)(describeCheck(check))}`);
    const open = fileToOpen(files);
    for (const file of files) if (file !== open) this.line(`report: ${file}`);
    const paint = report.exitCode === 0 ? this.green : this.red;
    this.line(paint(`exit ${report.exitCode}: ${report.verdict}`));
    this.finalLine(report.exitCode, open);
  }

  /** The last line of every run: the file to open (when one was written) and what the exit code means. */
  finalLine(exitCode: ExitCode, open: string | undefined): void {
    const meaning = `exit ${exitCode} means ${exitMeanings[exitCode]}`;
    // Absolute: a terminal makes it clickable, and it holds wherever the log is read.
    this.line(open ? `open ${resolve(open)} (${meaning})` : meaning);
  }

  private clearProgress(): void {
    if (!this.progressShown) return;
    this.out.write('\r\x1b[2K');
    this.progressShown = false;
  }
}

/** Failed cases named in the summary; the report has them all. */
const maxFailuresListed = 10;

const firstLine = (text: string): string => text.split('\n', 1)[0]!;

/** The HTML report when there is one (made for people), else the first file written. */
export const fileToOpen = (files: readonly string[]): string | undefined => files.find((file) => file.endsWith('.html')) ?? files[0];

const counter = (index: number, total: number): string => `[${String(index + 1).padStart(String(total).length)}/${total}]`;
const indent = (text: string): string =>
  text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
