/**
 * One page over several reports of one run (`iotcloud demo` writes conformance/ and latency/):
 * each report's verdict, its counts and p50/p99, and a link to it. `index.html` for people, in the
 * HTML reports' look (no script, everything escaped); `index.json`, the same facts, for machines.
 */
import { posix, relative, sep } from 'node:path';
import type { SuiteCounts } from '../conformance/runner.ts';
import { htmlPage, verdictBadge } from './html.ts';
import { exitCodes, exitMeanings, type ExitCode, type RunReport } from './model.ts';
import { describeCounts, describeDevices } from './wording.ts';
import { escapeAttribute as attr, escapeText as text } from './xml.ts';

/** One run as the index is given it: its name, its exit code, its report (absent after a setup error) and files. */
export interface IndexInput {
  name: string;
  exitCode: ExitCode;
  report?: RunReport;
  /** The files the run wrote (paths as written; made relative to the index). */
  files: string[];
}

export interface IndexedLatency {
  p50Ms: number;
  p99Ms: number;
  /** Samples behind the figures. */
  count: number;
}

export interface IndexedReport {
  name: string;
  passed: boolean;
  exitCode: ExitCode;
  verdict: string;
  /** Relative to the index, with forward slashes: the page to open, and the machine-readable one. */
  html?: string;
  json?: string;
  device?: string;
  firmware?: string;
  conformance?: { counts: SuiteCounts; summary: string; latency: IndexedLatency };
  load?: { sent: number; ok: number; throughputPerSec: number; summary: string; latency: IndexedLatency };
}

/** index.json: this object. */
export interface ReportIndex {
  tool: 'iotcloud harness';
  indexVersion: 1;
  /** 0 when every report passed, else the first failed report's exit code. */
  exitCode: ExitCode;
  verdict: string;
  /** The firmware every report names, when they agree on one. */
  firmware?: string;
  reports: IndexedReport[];
}

export const indexFileNames = { html: 'index.html', json: 'index.json' } as const;

export function buildIndex(directory: string, inputs: readonly IndexInput[]): ReportIndex {
  const reports = inputs.map((input) => indexed(directory, input));
  const failed = reports.filter((entry) => !entry.passed);
  const firmwares = new Set(reports.map((entry) => entry.firmware));
  const firmware = firmwares.size === 1 ? [...firmwares][0] : undefined;
  return {
    tool: 'iotcloud harness',
    indexVersion: 1,
    exitCode: failed[0]?.exitCode ?? exitCodes.ok,
    verdict:
      failed.length === 0
        ? `all ${reports.length} reports passed`
        : `${failed.length} of ${reports.length} reports failed: ${failed.map((entry) => entry.name).join(', ')}`,
    ...(firmware ? { firmware } : {}),
    reports,
  };
}

function indexed(directory: string, input: IndexInput): IndexedReport {
  const link = (suffix: string) => {
    const file = input.files.find((name) => name.endsWith(suffix));
    return file === undefined ? undefined : relative(directory, file).split(sep).join(posix.sep);
  };
  const html = link('.html');
  const json = link('.json');
  const report = input.report;
  const suite = report?.conformance;
  const load = report?.load;
  return {
    name: input.name,
    passed: input.exitCode === exitCodes.ok,
    exitCode: input.exitCode,
    verdict: report?.verdict ?? exitMeanings[input.exitCode],
    ...(html ? { html } : {}),
    ...(json ? { json } : {}),
    ...(report ? { device: describeDevices(report.target.deviceId, load?.devices ?? 1) } : {}),
    ...(report?.firmware ? { firmware: report.firmware } : {}),
    ...(suite
      ? { conformance: { counts: suite.counts, summary: describeCounts(suite.counts), latency: { p50Ms: suite.latency.p50Ms, p99Ms: suite.latency.p99Ms, count: suite.latency.count } } }
      : {}),
    ...(load
      ? {
          load: {
            sent: load.sent,
            ok: load.ok,
            throughputPerSec: load.throughputPerSec,
            summary: `${load.ok} of ${load.sent} answered ok, ${load.throughputPerSec}/s`,
            latency: { p50Ms: load.latency.p50Ms, p99Ms: load.latency.p99Ms, count: load.latency.count },
          },
        }
      : {}),
  };
}

export function renderIndexHtml(index: ReportIndex): string {
  const firmware = index.firmware ? ` · firmware ${text(index.firmware)}` : '';
  const rows = index.reports.map((entry) => {
    const figures = [
      entry.conformance ? `${entry.conformance.summary}; answers ${latency(entry.conformance.latency)}` : '',
      entry.load ? `load: ${entry.load.summary}; ${latency(entry.load.latency)}` : '',
    ].filter(Boolean);
    const name = entry.html ? `<a href="${attr(entry.html)}">${text(entry.name)}</a>` : text(entry.name);
    return [
      `<tr class="report ${entry.passed ? 'pass' : 'fail'}" data-name="${attr(entry.name)}" data-exit-code="${entry.exitCode}">`,
      `<td>${name}${entry.json ? `<br><a class="meta" href="${attr(entry.json)}">JSON</a>` : ''}</td>`,
      `<td class="status">${entry.passed ? 'passed' : 'failed'}</td>`,
      `<td>${text(entry.device ?? '')}${entry.firmware && !index.firmware ? `<br><span class="meta">firmware ${text(entry.firmware)}</span>` : ''}</td>`,
      `<td class="figures">${figures.map(text).join('<br>')}</td>`,
      `<td>exit ${entry.exitCode}: ${text(entry.verdict)}</td>`,
      '</tr>',
    ].join('');
  });
  return htmlPage('iotcloud harness: reports', [
    '<h1>iotcloud harness: reports</h1>',
    `<div class="meta">${index.reports.length} reports of one run${firmware}</div>`,
    verdictBadge(index.exitCode, index.verdict, 'verdict'),
    '<table id="reports">',
    '<thead><tr><th>report</th><th>status</th><th>device</th><th>figures</th><th>verdict</th></tr></thead>',
    `<tbody>\n${rows.join('\n')}\n</tbody>`,
    '</table>',
  ]);
}

const latency = (figures: IndexedLatency): string => (figures.count === 0 ? 'no latency samples' : `p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms`);
