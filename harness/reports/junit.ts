/**
 * JUnit XML for CI. Shaped to validate against the Jenkins JUnit schema (xunit-plugin junit-10.xsd,
 * the strictest of the common ones): `testsuites` carries only name/tests/failures/errors/time,
 * every `testsuite` has name/tests/failures/errors, times are plain seconds ("1.234"), and a
 * not-applicable case is `<skipped>`, never a pass. A failed optional case is still a
 * `<failure>` (type "optional") so it is visible, while the exit code ignores it.
 */
import { hostname } from 'node:os';
import type { CaseResult } from '../conformance/runner.ts';
import type { RunReport } from './model.ts';
import { describeCheck, specReference, worstFirst } from './wording.ts';
import { escapeAttribute, escapeText } from './xml.ts';

export function renderJunit(report: RunReport): string {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  if (report.conformance) {
    const { cases, counts, durationMs } = report.conformance;
    tests += counts.total;
    failures += counts.failed;
    suites.push(
      suite(
        'iotcloud.conformance',
        { tests: counts.total, failures: counts.failed, skipped: counts.notApplicable, durationMs },
        report,
        worstFirst(cases).map(({ result }) => testcase(result)),
      ),
    );
  }
  if (report.load) {
    const load = report.load;
    const missed = (report.thresholds ?? []).filter((check) => !check.passed);
    const failed = load.ok === 0 || missed.length > 0;
    tests += 1;
    failures += failed ? 1 : 0;
    const figures = [
      `${load.mode === 'closed' ? 'closed loop' : `fixed rate ${load.rate}/s`}, ${load.command} over ${load.devices} device(s), concurrency ${load.concurrency}`,
      `sent ${load.sent}, ok ${load.ok}, device errors ${load.deviceErrors}, timeouts ${load.timeouts}, unavailable ${load.unavailable}, invalid answers ${load.invalidAnswers}, skipped ${load.skipped}`,
      `throughput ${load.throughputPerSec}/s; latency p50 ${load.latency.p50Ms} ms, p90 ${load.latency.p90Ms} ms, p99 ${load.latency.p99Ms} ms, p99.9 ${load.latency.p999Ms} ms, max ${load.latency.maxMs} ms`,
    ].join('\n');
    const body = [
      failed
        ? `      <failure message="${escapeAttribute(load.ok === 0 ? 'no request was answered' : `load threshold missed: ${missed.map(describeCheck).join('; ')}`)}" type="load">${escapeText(figures)}</failure>`
        : '',
      `      <system-out>${escapeText(figures)}</system-out>`,
    ].filter(Boolean);
    suites.push(
      suite('iotcloud.load', { tests: 1, failures: failed ? 1 : 0, skipped: 0, durationMs: load.durationMs }, report, [
        `    <testcase name="load.${escapeAttribute(load.command)}" classname="iotcloud.load" time="${seconds(load.durationMs)}">\n${body.join('\n')}\n    </testcase>`,
      ]),
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeAttribute(`iotcloud harness ${report.target.deviceId}`)}" tests="${tests}" failures="${failures}" errors="0" time="${seconds(report.durationMs)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function suite(
  name: string,
  counts: { tests: number; failures: number; skipped: number; durationMs: number },
  report: RunReport,
  testcases: string[],
): string {
  const properties = [
    ['target.kind', report.target.kind],
    ['target.deviceId', report.target.deviceId],
    ['target.where', report.target.where],
    ['deadlineMs', String(report.settings.deadlineMs)],
    ['exitCode', String(report.exitCode)],
    ...(report.firmware ? [['firmware', report.firmware]] : []),
  ]
    .map(([key, value]) => `      <property name="${escapeAttribute(key!)}" value="${escapeAttribute(value!)}"/>`)
    .join('\n');
  const attributes = [
    `name="${escapeAttribute(name)}"`,
    `tests="${counts.tests}"`,
    `failures="${counts.failures}"`,
    'errors="0"',
    `skipped="${counts.skipped}"`,
    `time="${seconds(counts.durationMs)}"`,
    `timestamp="${timestamp(report.startedAt)}"`,
    `hostname="${escapeAttribute(hostname())}"`,
  ].join(' ');
  return [
    `  <testsuite ${attributes}>`,
    `    <properties>\n${properties}\n    </properties>`,
    ...testcases,
    `    <system-out>${escapeText(report.verdict)}</system-out>`,
    '  </testsuite>',
  ].join('\n');
}

function testcase(result: CaseResult): string {
  const group = result.id.split('.')[0] ?? 'case';
  const open = `    <testcase name="${escapeAttribute(result.id)}" classname="iotcloud.conformance.${escapeAttribute(group)}" time="${seconds(result.durationMs)}"`;
  const detail = `${result.message}\n\ncase: ${result.description}\nspec: docs/protocol.md#${specReference(result.specSection).anchor} (${specReference(result.specSection).label})${result.required ? '' : '\n(optional case: does not fail the run)'}`;
  switch (result.status) {
    case 'pass':
      return `${open}/>`;
    case 'not-applicable':
      return `${open}>\n      <skipped message="${escapeAttribute(`not applicable: ${firstLine(result.message)}`)}"/>\n    </testcase>`;
    case 'fail':
      return `${open}>\n      <failure message="${escapeAttribute(firstLine(result.message))}" type="${result.required ? 'required' : 'optional'}">${escapeText(detail)}</failure>\n    </testcase>`;
  }
}

const firstLine = (text: string): string => {
  const line = text.split('\n')[0] ?? '';
  return line.length > 500 ? `${line.slice(0, 500)}...` : line;
};

/** Seconds with millisecond precision, the form every JUnit consumer parses. */
const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

/** ISO 8601 without zone or fraction (the Ant schema's pattern); the value is UTC. */
const timestamp = (iso: string): string => iso.slice(0, 19);
