/**
 * Reports from a real run (a faulty simulated device, a target without wire access so some cases
 * are not applicable, and a load run): the JUnit XML is well-formed and follows the Jenkins JUnit
 * schema's rules with the right counts; the HTML report renders in headless Chromium with its
 * table and charts and loads nothing from outside.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import type { SimulatedDevice } from '../../simulators/index.ts';
import {
  conformanceSuite,
  ConsoleView,
  openMqttTarget,
  renderJunit,
  runLoad,
  runSuite,
  writeIndex,
  writeReports,
  type CaseResult,
  type DeviceTarget,
  type RunReport,
} from '../../harness/index.ts';
import { makeReport } from '../../harness/verdict.ts';
import { describeCounts, describeDevices, specReference } from '../../harness/reports/wording.ts';
import { captureOutput, simulatedDevice, startBroker, type TestBroker } from './fixtures.ts';
import { descendants, parseXml, type XmlElement } from './xml.ts';

const chromiumPath = '/usr/bin/chromium';

let broker: TestBroker;
let device: SimulatedDevice;
let target: DeviceTarget;
let report: RunReport;
let dir: string;
let files: string[];

/** A case whose message holds everything that breaks naive XML/HTML writers. */
const hostile: CaseResult = {
  id: 'synthetic.hostile-output',
  description: 'device output with markup & control characters',
  specSection: '2. Messages',
  required: false,
  status: 'fail',
  message: 'the device answered <script>alert("x")</script> & \u0001\u0007 bad bytes \uFFFE "quotes" \'apostrophes\' ]]> end',
  durationMs: 1,
  requests: 1,
  answers: 1,
};

beforeAll(async () => {
  broker = await startBroker();
  device = await simulatedDevice(broker.url, 'reported1', 'malformed=0.3@types,seed=4');
  const direct = await openMqttTarget({ url: broker.url, deviceId: 'reported1' });
  // Hide the wire: raw cases and the foreign-topic check become not-applicable, as on a REST target.
  target = { deviceId: direct.deviceId, kind: direct.kind, command: direct.command.bind(direct), describe: () => direct.describe(), close: () => direct.close() };
  const startedAt = new Date();
  const t0 = performance.now();
  const conformance = await runSuite(target, conformanceSuite(), { deadlineMs: 500 });
  conformance.cases.push(hostile);
  conformance.counts.total++;
  conformance.counts.failed++;
  conformance.counts.optionalFailed++;
  const load = await runLoad([target], { mode: 'closed', count: 100, concurrency: 2 });
  report = makeReport({ target, startedAt, durationMs: performance.now() - t0, settings: { deadlineMs: 500, resetDeadlineMs: 15_000 }, conformance, load, notes: ['note with <angle> brackets'] });
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-reports-'));
  files = await writeReports(report, dir, ['json', 'junit', 'html']);
});

afterAll(async () => {
  await target?.close();
  await device?.stop();
  await broker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const byStatus = (status: CaseResult['status']) => report.conformance!.cases.filter((result) => result.status === status);

describe('the run behind the reports', () => {
  it('has passes, failures and not-applicable cases', () => {
    expect(byStatus('pass').length).toBeGreaterThan(10);
    expect(byStatus('fail').length).toBeGreaterThan(2);
    expect(byStatus('not-applicable').map((result) => result.id)).toEqual(
      expect.arrayContaining(['hygiene.cid-echo', 'hygiene.malformed-json', 'hygiene.oversized', 'hygiene.no-foreign-topics']),
    );
    expect(report.exitCode).toBe(1);
    expect(files.map((file) => file.slice(dir.length + 1)).sort()).toEqual(['harness-junit.xml', 'harness-report.html', 'harness-report.json']);
  });

  it('the JSON report is the report object', async () => {
    const json = JSON.parse(await readFile(join(dir, 'harness-report.json'), 'utf8')) as RunReport;
    expect(json.conformance?.cases.length).toBe(report.conformance!.cases.length);
    expect(json.load?.sent).toBe(100);
    expect(json.load?.latency.count).toBe(json.load?.ok);
    expect(json.load!.ok + json.load!.invalidAnswers).toBe(100);
    expect(json.exitCode).toBe(1);
  });
});

describe('JUnit XML', () => {
  let root: XmlElement;
  beforeAll(async () => {
    root = parseXml(await readFile(join(dir, 'harness-junit.xml'), 'utf8'));
  });

  it('is well-formed and follows the Jenkins JUnit schema (junit-10.xsd) rules', () => {
    checkJenkinsSchema(root);
  });

  it('has one testcase per case, a failure per failed case and a skipped per not-applicable case', () => {
    const suites = descendants(root, 'testsuite');
    expect(suites.map((suite) => suite.attributes.name)).toEqual(['iotcloud.conformance', 'iotcloud.load']);
    const conformance = suites[0]!;
    const testcases = conformance.children.filter((child) => child.name === 'testcase');
    expect(testcases.length).toBe(report.conformance!.cases.length);
    expect(testcases.filter((testcase) => testcase.children.some((child) => child.name === 'failure')).length).toBe(byStatus('fail').length);
    expect(testcases.filter((testcase) => testcase.children.some((child) => child.name === 'skipped')).length).toBe(byStatus('not-applicable').length);
    expect(conformance.attributes.tests).toBe(String(report.conformance!.cases.length));
    expect(conformance.attributes.failures).toBe(String(byStatus('fail').length));
    expect(conformance.attributes.skipped).toBe(String(byStatus('not-applicable').length));
    expect(conformance.attributes.errors).toBe('0');
    expect(root.attributes.tests).toBe(String(report.conformance!.cases.length + 1));
    expect(root.attributes.failures).toBe(String(byStatus('fail').length));
    // Required and optional failures are told apart by type.
    const types = testcases.flatMap((testcase) => testcase.children.filter((child) => child.name === 'failure').map((failure) => failure.attributes.type));
    expect(new Set(types)).toEqual(new Set(['required', 'optional']));
  });

  it('carries the case message, the spec section, and survives hostile device output', () => {
    const testcase = descendants(root, 'testcase').find((element) => element.attributes.name === 'synthetic.hostile-output')!;
    const failure = testcase.children.find((child) => child.name === 'failure')!;
    expect(failure.attributes.message).toContain('<script>alert("x")</script> &');
    expect(failure.text).toContain('spec: docs/protocol.md#2-messages (2. Messages)');
    expect(failure.text).toContain('\'apostrophes\' ]]> end');
    const failed = byStatus('fail').find((result) => result.required)!;
    const failedCase = descendants(root, 'testcase').find((element) => element.attributes.name === failed.id)!;
    expect(failedCase.attributes.classname).toBe(`iotcloud.conformance.${failed.id.split('.')[0]}`);
    expect(Number(failedCase.attributes.time)).toBeCloseTo(failed.durationMs / 1000, 2);
    expect(failedCase.children[0]!.text).toContain(failed.message);
  });

  it('a clean run has no failure elements', () => {
    const clean = { ...report, conformance: { ...report.conformance!, cases: byStatus('pass') } };
    clean.conformance.counts = { total: clean.conformance.cases.length, passed: clean.conformance.cases.length, failed: 0, notApplicable: 0, requiredFailed: 0, optionalFailed: 0 };
    const xml = parseXml(renderJunit({ ...clean, load: undefined }));
    checkJenkinsSchema(xml);
    expect(descendants(xml, 'failure')).toEqual([]);
    expect(descendants(xml, 'testcase').length).toBe(byStatus('pass').length);
  });
});

describe('HTML report', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: install Debian's chromium (apt-get install -y chromium)`);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('opens in headless Chromium with the case table, the SVG charts, and no external request', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const url = pathToFileURL(join(dir, 'harness-report.html')).href;
    await page.goto(url);
    expect(requested).toEqual([url]);

    expect(await page.title()).toBe('iotcloud harness: reported1');
    expect(await page.locator('#cases tbody tr').count()).toBe(report.conformance!.cases.length);
    expect(await page.locator('#cases tbody tr[data-status="fail"]').count()).toBe(byStatus('fail').length);
    expect(await page.locator('#cases tbody tr[data-status="not-applicable"]').count()).toBe(byStatus('not-applicable').length);
    const failed = byStatus('fail').find((result) => result.required)!;
    expect(await page.locator(`#cases tr[data-id="${failed.id}"] td.message`).innerText()).toBe(failed.message);
    // Hostile output is shown as text, never run as markup.
    expect(await page.locator('#cases tr[data-id="synthetic.hostile-output"] td.message').innerText()).toContain('<script>alert("x")</script>');
    expect(await page.locator('script').count()).toBe(0);
    // Worst first: a required failure heads the table, passes come last; numbers keep suite order.
    expect(await page.locator('#cases tbody tr').first().getAttribute('class')).toBe('case fail required');
    expect(await page.locator('#cases tbody tr').last().getAttribute('data-status')).toBe('pass');
    // Spec sections are links into docs/protocol.md, without Markdown backticks.
    const citing = report.conformance!.cases.find((result) => result.specSection.includes('`get_gpio`'))!;
    const getGpio = page.locator(`#cases tr[data-id="${citing.id}"] td a`);
    expect(await getGpio.innerText()).toBe('4. Commands > get_gpio');
    expect(await getGpio.getAttribute('href')).toMatch(/\/docs\/protocol\.md#get_gpio$/);

    for (const id of ['conformance-latency-histogram', 'load-latency-histogram']) {
      const bars = page.locator(`svg#${id} rect.bar`);
      expect(await bars.count()).toBeGreaterThan(0);
      const box = await page.locator(`svg#${id}`).boundingBox();
      expect(box!.width).toBeGreaterThan(100);
    }
    for (const id of ['conformance-latency-percentiles', 'load-latency-percentiles']) {
      expect(await page.locator(`svg#${id} polyline.line`).count()).toBe(1);
      expect(await page.locator(`svg#${id} circle.dot`).count()).toBeGreaterThan(5);
    }
    expect(await page.locator('svg#load-throughput polyline').count()).toBe(2);
    expect(await page.locator('#verdict').innerText()).toContain('exit 1');
    expect(await page.locator('#load').innerText()).toContain('100');
    await page.close();
  });

  it('the index over two reports names the firmware, each verdict and its figures, escaped, with working links', async () => {
    const firmware = 'fw 1.2.3 <b>build</b> & "rc"';
    const passed = { ...report, exitCode: 0 as const, verdict: 'every required case passed', firmware };
    const failed = { ...report, firmware };
    const a = await writeReports(passed, join(dir, 'a'), ['json', 'html']);
    const b = await writeReports(failed, join(dir, 'b'), ['json', 'html']);
    const { index, html } = await writeIndex(dir, [
      { name: 'first', exitCode: 0, report: passed, files: a },
      { name: 'second <i>', exitCode: 1, report: failed, files: b },
    ]);
    expect(index).toMatchObject({ exitCode: 1, verdict: '1 of 2 reports failed: second <i>', firmware });
    expect(JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))).toEqual(index);

    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const url = pathToFileURL(html).href;
    await page.goto(url);
    expect(requested).toEqual([url]);
    expect(await page.locator('script, b, i').count()).toBe(0);
    expect(await page.locator('.meta').first().innerText()).toBe(`2 reports of one run · firmware ${firmware}`);
    expect(await page.locator('#verdict').innerText()).toBe('exit 1: 1 of 2 reports failed: second <i>');
    const second = page.locator('#reports tr.report.fail');
    expect(await second.getAttribute('data-name')).toBe('second <i>');
    expect(await second.locator('td.status').innerText()).toBe('failed');
    expect(await second.locator('td.figures').innerText()).toContain(describeCounts(report.conformance!.counts));
    expect(await second.locator('td.figures').innerText()).toMatch(/load: \d+ of 100 answered ok, [\d.]+\/s; p50 [\d.]+ ms, p99 [\d.]+ ms/);
    await second.locator('a', { hasText: 'second' }).click();
    expect(page.url()).toBe(pathToFileURL(join(dir, 'b', 'harness-report.html')).href);
    expect(await page.locator('.meta').first().innerText()).toContain(`firmware ${firmware}`);
    await page.close();
  });
});

describe('console view', () => {
  it('writes plain lines when not a terminal', () => {
    const output = captureOutput();
    const view = new ConsoleView(output, { tty: false });
    view.suiteStart('somewhere', 2);
    view.caseStart(0, 2, conformanceSuite()[0]!);
    view.caseDone(0, 2, hostile);
    view.summary(report, ['x.json', 'x.xml']);
    const text = output.text();
    expect(text).not.toContain('\x1b');
    expect(text).toContain('[1/2] WARN synthetic.hostile-output (1 ms)');
    expect(text).toContain('report: x.xml');
    expect(text).toContain(`exit 1: ${report.verdict}`);
    // Worst first: required failures, then optional ones; the file to open and the exit code's meaning last.
    const summary = text.trimEnd().split('\n\n').at(-1)!.split('\n');
    const failed = summary.filter((line) => line.startsWith('failed ('));
    const required = byStatus('fail').filter((result) => result.required).length;
    expect(failed.length).toBe(Math.min(10, byStatus('fail').length));
    expect(failed.slice(0, required).every((line) => line.startsWith('failed (required) '))).toBe(true);
    expect(failed.slice(required).every((line) => line.startsWith('failed (optional) '))).toBe(true);
    expect(summary.indexOf(failed[0]!)).toBe(0);
    expect(summary.at(-1)).toBe(`open ${resolve('x.json')} (exit 1 means a required case failed)`);
  });

  it('rewrites a progress line in place on a terminal', () => {
    const output = captureOutput();
    const view = new ConsoleView(output, { tty: true, color: false });
    view.caseStart(0, 2, conformanceSuite()[0]!);
    view.caseDone(0, 2, { ...hostile, status: 'pass' });
    expect(output.text()).toContain('running status.running ...');
    expect(output.text()).toContain('\r\x1b[2K[1/2] PASS');
  });
});

// ---------------------------------------------------------------------------------------------

/** The rules of jenkinsci/xunit-plugin junit-10.xsd, the strictest common JUnit schema. */
function checkJenkinsSchema(root: XmlElement): void {
  const surefireTime = /^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$/;
  const rules: Record<string, { attributes: string[]; required?: string[]; children: string[]; text?: boolean }> = {
    testsuites: { attributes: ['name', 'time', 'tests', 'failures', 'errors'], children: ['testsuite'] },
    testsuite: {
      attributes: ['name', 'tests', 'failures', 'errors', 'group', 'time', 'skipped', 'timestamp', 'hostname', 'id', 'package', 'file', 'log', 'url'],
      required: ['name', 'tests', 'failures', 'errors'],
      children: ['testsuite', 'properties', 'testcase', 'system-out', 'system-err'],
    },
    properties: { attributes: [], children: ['property'] },
    property: { attributes: ['name', 'value'], required: ['name', 'value'], children: [] },
    testcase: {
      attributes: ['name', 'time', 'classname', 'group'],
      required: ['name'],
      children: ['skipped', 'error', 'failure', 'rerunFailure', 'rerunError', 'flakyFailure', 'flakyError', 'system-out', 'system-err'],
    },
    failure: { attributes: ['type', 'message'], children: [], text: true },
    error: { attributes: ['type', 'message'], children: [], text: true },
    skipped: { attributes: ['type', 'message'], children: [], text: true },
    'system-out': { attributes: [], children: [], text: true },
    'system-err': { attributes: [], children: [], text: true },
  };
  const visit = (element: XmlElement, path: string) => {
    const rule = rules[element.name];
    expect(rule, `${path}: element not in the schema`).toBeDefined();
    for (const attribute of Object.keys(element.attributes)) expect(rule!.attributes, `${path}: attribute ${attribute}`).toContain(attribute);
    for (const attribute of rule!.required ?? []) expect(element.attributes, `${path}: required attribute ${attribute}`).toHaveProperty(attribute);
    if ('time' in element.attributes && element.name !== 'testcase') expect(element.attributes.time, `${path}: time`).toMatch(surefireTime);
    if (element.name === 'testcase' && element.attributes.time !== undefined) expect(element.attributes.time).toMatch(/^\d+\.\d{3}$/);
    if (!rule!.text) expect(element.text.trim(), `${path}: no text allowed`).toBe('');
    for (const child of element.children) {
      expect(rule!.children, `${path}: child ${child.name}`).toContain(child.name);
      visit(child, `${path}/${child.name}`);
    }
  };
  expect(root.name).toBe('testsuites');
  visit(root, 'testsuites');
  for (const suite of descendants(root, 'testsuite')) {
    for (const count of ['tests', 'failures', 'errors', 'skipped']) expect(suite.attributes[count]).toMatch(/^\d+$/);
    expect(suite.attributes.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  }
}

describe('report wording', () => {
  it('counts leave out what is zero, never "0 failed (0 required)"', () => {
    const clean = { total: 77, passed: 71, failed: 0, notApplicable: 6, requiredFailed: 0, optionalFailed: 0 };
    expect(describeCounts(clean)).toBe('71 passed, 6 not applicable of 77 cases');
    expect(describeCounts({ ...clean, passed: 68, failed: 3, requiredFailed: 2, optionalFailed: 1 })).toBe('68 passed, 3 failed (2 required, 1 optional), 6 not applicable of 77 cases');
  });

  it('every spec section a case cites is a heading of docs/protocol.md', async () => {
    const markdown = await readFile(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const anchors = new Set(
      [...markdown.matchAll(/^#{1,4} (.+)$/gm)].map((match) =>
        match[1]!.toLowerCase().replaceAll('`', '').replace(/[^a-z0-9 _-]/g, '').trim().replace(/ /g, '-'),
      ),
    );
    const cited = new Set(conformanceSuite().map((entry) => specReference(entry.specSection).anchor));
    expect([...cited].filter((anchor) => !anchors.has(anchor))).toEqual([]);
  });

  it('a load run over several devices is titled by their number', () => {
    expect(describeDevices('abc', 3)).toBe('3 devices (abc and 2 more)');
    expect(describeDevices('abc', 1)).toBe('abc');
  });
});
