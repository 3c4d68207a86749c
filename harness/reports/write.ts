/** Write the chosen report formats into a directory; returns the files written. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtml } from './html.ts';
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
