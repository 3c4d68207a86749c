/**
 * A self-contained HTML report: one file, inline CSS and SVG, no script, no external asset, so
 * it can be attached to a CI run or mailed to a firmware developer and opened anywhere.
 */
import type { CaseResult } from '../conformance/runner.ts';
import type { RunReport } from './model.ts';
import { histogramSvg, percentileSvg, throughputSvg } from './svg.ts';
import { describeCheck, describeCounts, describeDevices, specReference, worstFirst } from './wording.ts';
import { escapeAttribute as attr, escapeText as text } from './xml.ts';

/** The protocol spec the cases cite, as installed beside this module. */
const specUrl = new URL('../../docs/protocol.md', import.meta.url).href;

const styles = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d232a; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #56606b; } .verdict { display: inline-block; padding: 4px 10px; border-radius: 4px; font-weight: 600; margin: 8px 0; }
.verdict.ok { background: #e3f6e8; color: #17692f; } .verdict.bad { background: #fde8e8; color: #9b1c1c; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
th { background: #f4f6f8; position: sticky; top: 0; } td.message { white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, monospace; font-size: 12px; }
.status { font-weight: 600; white-space: nowrap; } tr.pass .status { color: #17692f; } tr.fail .status { color: #9b1c1c; } tr.not-applicable .status { color: #7a6a00; }
tr.fail.optional .status { color: #b45309; } #thresholds li.pass { color: #17692f; } #thresholds li.fail { color: #9b1c1c; font-weight: 600; } .counts span { margin-right: 16px; }
.chart { max-width: 100%; height: auto; background: #fbfcfd; border: 1px solid #e3e6ea; margin: 6px 12px 6px 0; }
.chart .axis { stroke: #56606b; } .chart .grid { stroke: #e3e6ea; } .chart .tick, .chart .label { font-size: 11px; fill: #56606b; }
.chart .chart-title { font-size: 13px; font-weight: 600; fill: #1d232a; } .chart .bar { fill: #3b82c4; }
.chart .line { fill: none; stroke: #3b82c4; stroke-width: 2; } .chart .line.errors { stroke: #c43b3b; } .chart .dot { fill: #3b82c4; } .chart .max { stroke: #c43b3b; stroke-dasharray: 4 3; }
pre { background: #f4f6f8; padding: 10px; overflow-x: auto; }
`;

export function renderHtml(report: RunReport): string {
  const sections = [header(report), conformanceSection(report), loadSection(report), notesSection(report)].filter(Boolean);
  return htmlPage(`iotcloud harness: ${subject(report)}`, sections);
}

/** The page every HTML report shares (this one, the index): the styles, no script. */
export function htmlPage(title: string, sections: string[]): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${text(title)}</title>`,
    `<style>${styles}</style>`,
    '</head>',
    '<body>',
    ...sections,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The device, or for a load run over several, how many. */
const subject = (report: RunReport): string => describeDevices(report.target.deviceId, report.load?.devices ?? 1);

function header(report: RunReport): string {
  const firmware = report.firmware ? ` · firmware ${text(report.firmware)}` : '';
  return [
    `<h1>iotcloud harness: ${text(subject(report))}</h1>`,
    `<div class="meta">${text(report.target.where)}${firmware} · started ${text(report.startedAt)} · ${(report.durationMs / 1000).toFixed(1)} s · deadline ${report.settings.deadlineMs} ms</div>`,
    verdictBadge(report.exitCode, report.verdict, 'verdict'),
  ].join('\n');
}

/** "exit 1: 2 required case(s) failed ...", green or red. */
export function verdictBadge(exitCode: number, verdict: string, id?: string): string {
  return `<div${id ? ` id="${attr(id)}"` : ''} class="verdict ${exitCode === 0 ? 'ok' : 'bad'}">exit ${exitCode}: ${text(verdict)}</div>`;
}

function conformanceSection(report: RunReport): string {
  const suite = report.conformance;
  if (!suite) return '';
  const rows = worstFirst(suite.cases)
    .map(({ result, number }) => row(result, number))
    .join('\n');
  return [
    '<h2>Conformance</h2>',
    `<div class="counts"><span>${text(describeCounts(suite.counts))}</span><span>${suite.requests} requests, ${suite.answers} answers</span></div>`,
    '<table id="cases">',
    '<thead><tr><th>#</th><th>status</th><th>case</th><th>required</th><th>spec section</th><th>time</th><th>details</th></tr></thead>',
    `<tbody>\n${rows}\n</tbody>`,
    '</table>',
    '<h2>Latency of the device\'s answers during conformance</h2>',
    histogramSvg(suite.latency, 'conformance-latency-histogram', 'answer latency histogram'),
    percentileSvg(suite.latency, 'conformance-latency-percentiles', 'answer latency by percentile'),
  ].join('\n');
}

function row(result: CaseResult, number: number): string {
  const classes = ['case', result.status, result.required ? 'required' : 'optional'].join(' ');
  const status = result.status === 'not-applicable' ? 'n/a' : result.status;
  return [
    `<tr class="${classes}" data-id="${attr(result.id)}" data-status="${result.status}">`,
    `<td>${number}</td>`,
    `<td class="status">${status}</td>`,
    `<td><code>${text(result.id)}</code><br><span class="meta">${text(result.description)}</span></td>`,
    `<td>${result.required ? 'yes' : 'no'}</td>`,
    `<td>${specLink(result.specSection)}</td>`,
    `<td>${result.durationMs} ms</td>`,
    `<td class="message">${text(result.message)}</td>`,
    '</tr>',
  ].join('');
}

function specLink(section: string): string {
  const { label, anchor } = specReference(section);
  return `<a href="${attr(`${specUrl}#${anchor}`)}">${text(label)}</a>`;
}

function loadSection(report: RunReport): string {
  const load = report.load;
  if (!load) return '';
  const mode = load.mode === 'closed' ? `closed loop, concurrency ${load.concurrency}` : `fixed rate ${load.rate}/s, at most ${load.concurrency} in flight`;
  const figures: [string, string | number][] = [
    ['command', load.command],
    ['devices', load.devices],
    ['mode', mode],
    ['duration', `${(load.durationMs / 1000).toFixed(1)} s`],
    ['sent', load.sent],
    ['answered ok', load.ok],
    ['device errors', load.deviceErrors],
    ['timeouts', load.timeouts],
    ['unavailable', load.unavailable],
    ['invalid answers', load.invalidAnswers],
    ['skipped (in-flight cap)', load.skipped],
    ['throughput', `${load.throughputPerSec}/s`],
    ['p50 / p90 / p99 / p99.9 / max', `${load.latency.p50Ms} / ${load.latency.p90Ms} / ${load.latency.p99Ms} / ${load.latency.p999Ms} / ${load.latency.maxMs} ms`],
  ];
  const thresholds = (report.thresholds ?? []).map((check) => `<li class="${check.passed ? 'pass' : 'fail'}">${text(describeCheck(check))}</li>`);
  return [
    `<h2>Load over ${text(describeDevices(report.target.deviceId, load.devices))}</h2>`,
    thresholds.length ? `<ul id="thresholds">${thresholds.join('')}</ul>` : '',
    `<table id="load"><tbody>${figures.map(([key, value]) => `<tr><th>${text(key)}</th><td>${text(String(value))}</td></tr>`).join('')}</tbody></table>`,
    histogramSvg(load.latency, 'load-latency-histogram', 'load latency histogram'),
    percentileSvg(load.latency, 'load-latency-percentiles', 'load latency by percentile'),
    throughputSvg(load.perSecond, 'load-throughput', 'answers and errors per second'),
  ].join('\n');
}

function notesSection(report: RunReport): string {
  if (report.notes.length === 0) return '';
  return ['<h2>Notes</h2>', ...report.notes.map((note) => `<pre>${text(note)}</pre>`)].join('\n');
}
