/**
 * Inline SVG charts for the HTML report, drawn as strings so the report needs no script and no
 * external asset: a latency histogram, a percentile plot (HdrHistogram style, x in "nines"), and
 * answers per second for load runs.
 */
import type { LatencySummary } from '../load/latency.ts';
import type { SecondStats } from '../load/run-load.ts';
import { escapeAttribute, escapeText } from './xml.ts';

const width = 720;
const height = 260;
const margin = { top: 28, right: 20, bottom: 46, left: 64 };
const plotWidth = width - margin.left - margin.right;
const plotHeight = height - margin.top - margin.bottom;

function frame(id: string, title: string, body: string[]): string {
  return [
    `<svg id="${escapeAttribute(id)}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeAttribute(title)}">`,
    `<title>${escapeText(title)}</title>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" class="chart-title">${escapeText(title)}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotHeight}" x2="${margin.left + plotWidth}" y2="${margin.top + plotHeight}" class="axis"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotHeight}" class="axis"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** Y axis ticks from 0 to a rounded maximum. */
function yTicks(max: number, format: (value: number) => string): { ticks: string[]; scale: (value: number) => number } {
  const top = niceCeiling(max);
  const scale = (value: number) => margin.top + plotHeight - (top === 0 ? 0 : (value / top) * plotHeight);
  const ticks: string[] = [];
  for (let step = 0; step <= 4; step++) {
    const value = (top / 4) * step;
    const y = scale(value);
    ticks.push(`<line x1="${margin.left - 4}" y1="${y}" x2="${margin.left + plotWidth}" y2="${y}" class="grid"/>`);
    ticks.push(`<text x="${margin.left - 8}" y="${y + 4}" text-anchor="end" class="tick">${escapeText(format(value))}</text>`);
  }
  return { ticks, scale };
}

export function histogramSvg(summary: LatencySummary, id: string, title: string): string {
  if (summary.count === 0) return frame(id, `${title} (no samples)`, []);
  const bins = summary.bins;
  const maxCount = Math.max(...bins.map((bin) => bin.count));
  const { ticks, scale } = yTicks(maxCount, (value) => String(Math.round(value)));
  const slot = plotWidth / bins.length;
  const bars = bins.map((bin, index) => {
    const x = margin.left + index * slot + slot * 0.1;
    const y = scale(bin.count);
    const barHeight = margin.top + plotHeight - y;
    const label = `${formatMs(bin.fromMs)}–${formatMs(bin.toMs)}: ${bin.count}`;
    return [
      `<rect class="bar" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${barHeight.toFixed(1)}"><title>${escapeText(label)}</title></rect>`,
      `<text x="${(x + slot * 0.4).toFixed(1)}" y="${margin.top + plotHeight + 16}" text-anchor="middle" class="tick">&lt;${escapeText(formatMs(bin.toMs))}</text>`,
    ].join('');
  });
  const axisLabel = `<text x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" class="label">latency (log-spaced bins); ${summary.count} samples</text>`;
  return frame(id, title, [...ticks, ...bars, axisLabel]);
}

/** x = number of nines: 0% -> 0, 90% -> 1, 99% -> 2, 99.9% -> 3 ... */
const nines = (percentile: number): number => Math.log10(100 / (100 - Math.min(percentile, 99.9999)));

export function percentileSvg(summary: LatencySummary, id: string, title: string): string {
  const points = summary.percentiles.filter((point) => point.percentile < 100);
  if (summary.count === 0 || points.length === 0) return frame(id, `${title} (no samples)`, []);
  const maxNines = Math.max(3, Math.ceil(nines(points[points.length - 1]!.percentile)));
  const { ticks, scale } = yTicks(summary.maxMs, (value) => `${formatNumber(value)} ms`);
  const x = (percentile: number) => margin.left + (nines(percentile) / maxNines) * plotWidth;
  const xTicks: string[] = [];
  for (let n = 0; n <= maxNines; n++) {
    const percentile = 100 - 100 / 10 ** n;
    const px = margin.left + (n / maxNines) * plotWidth;
    xTicks.push(`<text x="${px.toFixed(1)}" y="${margin.top + plotHeight + 16}" text-anchor="middle" class="tick">${escapeText(`${formatNumber(percentile)}%`)}</text>`);
  }
  const line = points.map((point) => `${x(point.percentile).toFixed(1)},${scale(point.ms).toFixed(1)}`).join(' ');
  const dots = points.map(
    (point) =>
      `<circle class="dot" cx="${x(point.percentile).toFixed(1)}" cy="${scale(point.ms).toFixed(1)}" r="3"><title>${escapeText(`p${point.percentile}: ${point.ms} ms`)}</title></circle>`,
  );
  const maxLine = `<line class="max" x1="${margin.left}" y1="${scale(summary.maxMs).toFixed(1)}" x2="${margin.left + plotWidth}" y2="${scale(summary.maxMs).toFixed(1)}"><title>max ${summary.maxMs} ms</title></line>`;
  const axisLabel = `<text x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" class="label">percentile</text>`;
  return frame(id, title, [...ticks, ...xTicks, maxLine, `<polyline class="line" points="${line}"/>`, ...dots, axisLabel]);
}

export function throughputSvg(perSecond: SecondStats[], id: string, title: string): string {
  if (perSecond.length === 0) return frame(id, `${title} (no data)`, []);
  const max = Math.max(1, ...perSecond.map((second) => Math.max(second.ok, second.errors)));
  const { ticks, scale } = yTicks(max, (value) => String(Math.round(value)));
  const step = perSecond.length > 1 ? plotWidth / (perSecond.length - 1) : 0;
  const x = (index: number) => margin.left + (perSecond.length > 1 ? index * step : plotWidth / 2);
  const series = (pick: (second: SecondStats) => number) => perSecond.map((second, index) => `${x(index).toFixed(1)},${scale(pick(second)).toFixed(1)}`).join(' ');
  const axisLabel = `<text x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle" class="label">second of the run (${perSecond.length} s); blue answered, red errors</text>`;
  return frame(id, title, [...ticks, `<polyline class="line" points="${series((second) => second.ok)}"/>`, `<polyline class="line errors" points="${series((second) => second.errors)}"/>`, axisLabel]);
}

function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 2.5, 5, 10]) if (value <= factor * power) return factor * power;
  return 10 * power;
}

const formatNumber = (value: number): string => (Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4))));

export function formatMs(ms: number): string {
  if (ms < 1) return `${formatNumber(ms * 1000)} µs`;
  if (ms < 1000) return `${formatNumber(ms)} ms`;
  return `${formatNumber(ms / 1000)} s`;
}
