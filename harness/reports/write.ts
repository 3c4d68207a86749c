/** Write the chosen report formats into a directory; returns the files written. Several runs' reports: an index over them. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtml } from './html.ts';
import { buildIndex, indexFileNames, renderIndexHtml, type IndexInput, type ReportIndex } from './index-page.ts';
import { renderJunit } from './junit.ts';
import type { RunReport } from './model.ts';

export type ReportFormat = 'json' | 'junit' | 'html';
export const reportFormats: readonly ReportFormat[] = ['json', 'junit', 'html'];

export const reportFileNames: Record<ReportFormat, string> = {
  json: 'harness-report.json',
  junit: 'harness-junit.xml',
  html: 'harness-report.html',
};

const renderers: Record<ReportFormat, (report: RunReport) => string> = {
  json: (report) => `${JSON.stringify(report, null, 2)}\n`,
  junit: renderJunit,
  html: renderHtml,
};

export async function writeReports(report: RunReport, directory: string, formats: readonly ReportFormat[]): Promise<string[]> {
  if (formats.length === 0) return [];
  await mkdir(directory, { recursive: true });
  const files: string[] = [];
  for (const format of new Set(formats)) {
    const file = join(directory, reportFileNames[format]);
    await writeFile(file, renderers[format](report));
    files.push(file);
  }
  return files;
}

/** index.html and index.json over several runs' reports, in their common directory; returns the index and both files. */
export async function writeIndex(directory: string, runs: readonly IndexInput[]): Promise<{ index: ReportIndex; html: string; json: string }> {
  await mkdir(directory, { recursive: true });
  const index = buildIndex(directory, runs);
  const html = join(directory, indexFileNames.html);
  const json = join(directory, indexFileNames.json);
  await writeFile(html, renderIndexHtml(index));
  await writeFile(json, `${JSON.stringify(index, null, 2)}\n`);
  return { index, html, json };
}
