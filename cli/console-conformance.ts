/**
 * The console's "run conformance" button, implemented with the harness: the server only knows the
 * ConformanceRunner interface (server/web/conformance.ts); `iotcloud up` hands it this one.
 * The run goes through the server's own REST API as the device's owner, like `iotcloud harness
 * --rest` would.
 */
import { Writable } from 'node:stream';
import { executeHarness, renderHtml } from '../harness/index.ts';
import type { ConformanceRunner } from '../server/web/conformance.ts';

/** Console output of a run kept for a setup error's page (bounded). */
const MAX_OUTPUT = 16 * 1024;

export const harnessConformanceRunner: ConformanceRunner = {
  async run(target) {
    let output = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (output.length < MAX_OUTPUT) output += chunk.toString('utf8').slice(0, MAX_OUTPUT - output.length);
        done();
      },
    });
    const run = await executeHarness({
      target: { kind: 'rest', baseUrl: target.apiUrl, token: target.token, deviceId: target.deviceId, ca: target.caPem },
      output: sink,
      tty: false,
      color: false,
      formats: [],
    });
    if (!run.report) {
      const verdict = output.trim().split('\n')[0] ?? 'the conformance run could not start';
      return { passed: 0, failed: 0, notApplicable: 0, verdict, html: setupErrorPage(output) };
    }
    const counts = run.report.conformance?.counts;
    return { passed: counts?.passed ?? 0, failed: counts?.failed ?? 0, notApplicable: counts?.notApplicable ?? 0, verdict: run.report.verdict, html: renderHtml(run.report) };
  },
};

function setupErrorPage(output: string): string {
  const text = output.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>iotcloud harness: setup error</title></head><body><h1>The conformance run could not start</h1><pre>${text}</pre></body></html>`;
}
