/**
 * The fleet's parts without a server: profile shares and their plan, grouped errors, progress
 * output, credentials on disk, flag checks, and the connection ramp against a plain local broker.
 */
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorTally,
  Fleet,
  loadFleetCredentials,
  MANIFEST_FILE,
  openFileLimit,
  openFileWarning,
  parseProfileShare,
  parseProfileShares,
  planProfiles,
  planText,
  ProgressReporter,
  saveFleetCredentials,
  statusLine,
  type FleetIdentity,
  type FleetProgress,
} from '../../simulators/fleet/index.ts';
import { checkFleetArgs, type FleetArgs } from '../../cli/commands/fleet.ts';
import { startBroker, type TestBroker } from '../harness/fixtures.ts';

describe('profile shares', () => {
  it('parses PERCENT%:SETTINGS into a share and a profile', () => {
    expect(parseProfileShare('70%:delay=1-5')).toMatchObject({ share: 0.7, profile: { delay: { kind: 'uniform', minMs: 1, maxMs: 5 } }, label: '70%:delay=1-5' });
    expect(parseProfileShare('12.5%:malformed=0.2,legacy')).toMatchObject({ share: 0.125, profile: { legacy: true, malformed: { share: 0.2 } } });
  });

  it('refuses a missing or impossible share and bad settings, saying which profile', () => {
    expect(() => parseProfileShare('drop=0.1')).toThrow(/"drop=0.1" needs a share of the fleet first: PERCENT%:SETTINGS/);
    expect(() => parseProfileShare('0%:drop=0.1')).toThrow(/above 0% and at most 100%/);
    expect(() => parseProfileShare('150%:drop=0.1')).toThrow(/above 0% and at most 100%/);
    expect(() => parseProfileShare('20%:dorp=0.1')).toThrow(/profile "20%:dorp=0.1": unknown profile setting "dorp"/);
    expect(() => parseProfileShares(['70%:delay=1-5', '40%:legacy'])).toThrow(/add up to 110%, more than 100% \(70%:delay=1-5 \+ 40%:legacy\)/);
    expect(parseProfileShares(['33.3%:legacy', '66.7%:drop=0.5'])).toHaveLength(2);
  });

  it('plans exact counts (largest remainder), the rest default, interleaved by index', () => {
    const plan = planProfiles(50, parseProfileShares(['70%:delay=1-5', '20%:drop=0.1']));
    expect(plan.groups.map((group) => [group.label, group.devices])).toEqual([['70%:delay=1-5', 35], ['20%:drop=0.1', 10], ['default', 5]]);
    const counts = [0, 0, 0];
    for (const group of plan.groupOf) counts[group]!++;
    expect(counts).toEqual([35, 10, 5]);
    // Any prefix of the fleet is close to the mix: the first 10 devices are 7 / 2 / 1.
    const first = [0, 0, 0];
    for (const group of plan.groupOf.subarray(0, 10)) first[group]!++;
    expect(first).toEqual([7, 2, 1]);
    expect(planProfiles(7, parseProfileShares(['50%:legacy', '50%:drop=1'])).groups.map((group) => group.devices)).toEqual([4, 3]);
    expect(planProfiles(3, []).groups).toEqual([{ label: 'default', profile: {}, devices: 3 }]);
  });
});

describe('grouped errors', () => {
  it('groups messages across devices (the device id taken out), most frequent first, bounded', () => {
    const tally = new ErrorTally();
    tally.add('connect failed: client id dev-1 refused', 'dev-1');
    tally.add('connect failed: client id dev-2 refused', 'dev-2');
    tally.add('connect failed: ECONNREFUSED', 'dev-3');
    expect(tally.top()).toEqual([
      { message: 'connect failed: client id <device> refused', count: 2 },
      { message: 'connect failed: ECONNREFUSED', count: 1 },
    ]);
    for (let i = 0; i < 100; i++) tally.add(`kind ${i}`);
    expect(tally.count).toBe(103);
    expect(tally.top(100)).toHaveLength(51); // 50 kinds, then "other errors"
    expect(tally.top(100).find((group) => group.message === 'other errors')?.count).toBe(52);
  });
});

const progressSample: FleetProgress = {
  phase: 'connecting', elapsedMs: 1500, size: 10, provisioned: 10, queued: 2, connecting: 3, connected: 5, retrying: 0, failed: 1,
  reconnects: 0, disconnects: 0, resets: 0, received: 4, answered: 3, protocolErrors: 1, dropped: 1, malformed: 0, late: 0, sendFailures: 0,
  rssBytes: 200 * 1024 * 1024, allocator: 'system', heapUsedBytes: 50 * 1024 * 1024, errors: [{ message: 'connect failed: ECONNREFUSED', count: 1 }],
};

describe('progress output', () => {
  it('a status line on a terminal, redrawn in place and cut to its width', () => {
    expect(statusLine(progressSample)).toBe(
      '1.5s connecting | provisioned 10/10 | connecting 3 | connected 5 | failed 1 | answered 3 | protocol errors 1 | reconnects 0 | rss 200 MB heap 50 MB | 1x connect failed: ECONNREFUSED',
    );
    const written: string[] = [];
    const reporter = new ProgressReporter({ write: (text) => written.push(text), isTTY: true, columns: 41 }, () => progressSample, { json: false, intervalMs: 1000 });
    reporter.report();
    expect(written[0]).toBe(`\r\x1b[2K${statusLine(progressSample).slice(0, 39)}…`);
  });

  it('shows connections made per second since the previous report', () => {
    const samples = [progressSample, { ...progressSample, elapsedMs: 2500, connected: 300, disconnects: 5 }];
    const written: string[] = [];
    const reporter = new ProgressReporter({ write: (text) => written.push(text) }, () => samples.shift()!, { json: true, intervalMs: 1000 });
    reporter.report();
    reporter.report();
    const [first, second] = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).not.toHaveProperty('connectRatePerSecond'); // nothing to compare with yet
    expect(second).toMatchObject({ connectRatePerSecond: 300 }); // (300 + 5) - (5 + 0) in 1 s
    expect(statusLine({ ...progressSample, connectRatePerSecond: 42 })).toContain('connected 5 (+42/s)');
  });

  it('JSON lines elsewhere, then a summary line', () => {
    const written: string[] = [];
    const reporter = new ProgressReporter({ write: (text) => written.push(text) }, () => progressSample, { json: true, intervalMs: 1000 });
    reporter.report();
    reporter.finish({ ...progressSample, phase: 'stopped', reason: 'signal', connectedAtStop: 5, profiles: [{ label: 'default', devices: 10 }] });
    const [progress, summary] = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(written.every((line) => line.endsWith('\n') && !line.includes('\x1b'))).toBe(true);
    expect(progress).toMatchObject({ type: 'progress', connected: 5, failed: 1, errors: [{ message: 'connect failed: ECONNREFUSED', count: 1 }] });
    expect(summary).toMatchObject({ type: 'summary', reason: 'signal', connectedAtStop: 5 });
  });

  it('names which devices run which profile at the start: counts and the first names of each group', () => {
    const plan = planProfiles(10, parseProfileShares(['20%:drop=0.1']));
    expect(planText(plan, (index) => `f-${index}`)).toBe('profiles  20%:drop=0.1: 2 devices (f-2, f-7); default: 8 devices (f-0, f-1, f-3, ...)');
  });

  it('the clean-up\'s progress: a JSON line per batch; for people only when it is long', () => {
    const json: string[] = [];
    new ProgressReporter({ write: (text) => json.push(text) }, () => progressSample, { json: true, intervalMs: 1000 }).cleanup(200, 5000);
    expect(json.map((line) => JSON.parse(line))).toEqual([{ type: 'cleanup', done: 200, total: 5000 }]);
    const terminal: string[] = [];
    const reporter = new ProgressReporter({ write: (text) => terminal.push(text), isTTY: true }, () => progressSample, { json: false, intervalMs: 1000 });
    reporter.cleanup(5, 5);
    reporter.cleanup(200, 5000);
    expect(terminal).toEqual(['cleaning up: 200 of 5000 unregistered\n']);
  });
});

describe('saved credentials', () => {
  let dir: string;
  const identities: FleetIdentity[] = [
    { deviceId: 'dev-b', name: 'f-0', certPem: 'CERT B', keyPem: 'KEY B' },
    { deviceId: 'dev-a', name: 'f-1', certPem: 'CERT A', keyPem: 'KEY A' },
  ];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-fleet-creds-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips in the register --out layout, keys 0600, order and names kept', async () => {
    await saveFleetCredentials(dir, { caPem: 'CA', mqttUrl: 'mqtts://127.0.0.1:8883', identities });
    expect(await readFile(join(dir, 'rootca.pem'), 'utf8')).toBe('CA');
    expect(await readFile(join(dir, 'dev-a_cert.pem'), 'utf8')).toBe('CERT A');
    expect((await stat(join(dir, 'dev-a_pkey.pem'))).mode & 0o777).toBe(0o600);
    expect(await loadFleetCredentials(dir)).toEqual({ caPem: 'CA', mqttUrl: 'mqtts://127.0.0.1:8883', identities });
    expect((await loadFleetCredentials(dir, 1)).identities.map((identity) => identity.deviceId)).toEqual(['dev-b']);
    await expect(loadFleetCredentials(dir, 3)).rejects.toThrow(/holds 2 devices, fewer than the 3 asked for/);
  });

  it('without a manifest takes the files in device id order; explains what is missing', async () => {
    await unlink(join(dir, MANIFEST_FILE));
    expect((await loadFleetCredentials(dir)).identities.map((identity) => identity.deviceId)).toEqual(['dev-a', 'dev-b']);
    await unlink(join(dir, 'dev-a_pkey.pem'));
    await expect(loadFleetCredentials(dir)).rejects.toThrow(/has dev-a_cert.pem but no dev-a_pkey.pem/);
    await writeFile(join(dir, MANIFEST_FILE), JSON.stringify({ version: 1, devices: [{ deviceId: '../etc', name: 'x' }] }));
    await expect(loadFleetCredentials(dir)).rejects.toThrow(/"..\/etc" is not a device id/);
    await expect(loadFleetCredentials(join(dir, 'nowhere'))).rejects.toThrow(/cannot read the credentials folder/);
    await unlink(join(dir, 'rootca.pem'));
    await expect(loadFleetCredentials(dir)).rejects.toThrow(/has no rootca.pem/);
  });
});

describe('open-file limit', () => {
  it('reads this process limit (Linux) and warns when a fleet would not fit under it', async () => {
    const limit = await openFileLimit();
    if (process.platform === 'linux') expect(limit?.soft).toBeGreaterThan(0);
    expect(openFileWarning({ soft: 1024, hard: 4096 }, 2000)).toMatch(/may open 1024 files \(hard limit 4096\), too few for 2000 devices: raise it with `ulimit -n 2256`/);
    expect(openFileWarning({ soft: 20_000, hard: 20_000 }, 2000)).toBeUndefined();
    expect(openFileWarning(undefined, 2000)).toBeUndefined();
  });
});

describe('iotcloud fleet flags', () => {
  const base: FleetArgs = { server: 'https://127.0.0.1:8443', devices: 10, rate: 200, concurrency: 50, transport: 'mqtt', 'json-interval': 5, plaintext: false, 'provision-concurrency': 8 };
  const problem = (args: Partial<FleetArgs>) => {
    try {
      checkFleetArgs({ ...base, ...args });
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('accepts a plain provisioning run and a saved fleet', () => {
    expect(problem({})).toBeUndefined();
    expect(problem({ devices: undefined, certs: 'saved' })).toBeUndefined();
  });

  it('refuses mistakes with what to do instead', () => {
    expect(problem({ devices: undefined })).toMatch(/--devices N, or load a saved fleet with --certs DIR/);
    expect(problem({ devices: 2.5 })).toMatch(/--devices must be a whole number above 0, got 2.5/);
    expect(problem({ rate: 0 })).toMatch(/--rate must be above 0/);
    expect(problem({ concurrency: -1 })).toMatch(/--concurrency must be a whole number above 0/);
    expect(problem({ duration: 0 })).toMatch(/--duration must be above 0/);
    expect(problem({ save: 'a', certs: 'b' })).toMatch(/use one of them/);
    expect(problem({ token: 't', user: 'u' })).toMatch(/--token or --user, not both/);
    expect(problem({ certs: 'b', token: 't' })).toMatch(/needs no login/);
    expect(problem({ url: 'mqtt://127.0.0.1:1883' })).toMatch(/use mqtts:\/\/ or amqps:\/\//);
    expect(problem({ url: 'mqtt://127.0.0.1:1883', plaintext: true })).toBeUndefined();
    expect(problem({ transport: 'amqp091' })).toMatch(/--transport amqp091 needs --url/);
    expect(problem({ profile: ['70%:delay=1-5', '40%:legacy'] })).toMatch(/^--profile: profile shares add up to 110%/);
    expect(problem({ prefix: 'x'.repeat(63) })).toMatch(/at most 64 printable characters/);
    expect(problem({ certs: 'b', cleanup: true })).toMatch(/a saved fleet \(--certs\) registers none: remove those with `iotcloud unregister --prefix PREFIX --yes`/);
  });
});

describe('connection ramp (plain local broker)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startBroker();
  });
  afterAll(async () => {
    await broker?.close();
  });
  const identity = (n: number): FleetIdentity => ({ deviceId: `ramp-${process.pid}-${n}`, name: `ramp-${n}`, certPem: '', keyPem: '' });

  it('paces connections at the rate, never more in progress than the concurrency', async () => {
    const fleet = new Fleet({ size: 12, url: broker.url, caPem: '', allowPlaintext: true, rate: 40, concurrency: 2 });
    let mostConnecting = 0;
    fleet.on('connected', () => (mostConnecting = Math.max(mostConnecting, fleet.progress().connecting)));
    const allConnected = new Promise<void>((resolve) => fleet.once('allConnected', resolve));
    for (let n = 0; n < 12; n++) fleet.add(identity(n));
    await allConnected;
    // 12 connections at 40/s: the last starts 11/40 s = 275 ms after the first.
    expect(fleet.rampMs).toBeGreaterThanOrEqual(260);
    expect(mostConnecting).toBeLessThanOrEqual(2);
    expect(fleet.progress()).toMatchObject({ phase: 'running', connected: 12, failed: 0 });
    await fleet.stop();
    expect(fleet.progress()).toMatchObject({ phase: 'stopped', connected: 0, disconnects: 12 });
  });

  it('retries a failed first connection later and groups the errors', async () => {
    const url = broker.url.replace(/:\d+$/, ':1'); // nothing listens on port 1
    const fleet = new Fleet({ size: 3, url, caPem: '', allowPlaintext: true, rate: 100, concurrency: 3, retry: { initialMs: 20, maxMs: 40 } });
    let failures = 0;
    const enough = new Promise<void>((resolve) => fleet.on('failed', () => ++failures === 6 && resolve()));
    for (let n = 0; n < 3; n++) fleet.add(identity(100 + n));
    await enough;
    const progress = fleet.progress();
    expect(progress.failed).toBeGreaterThanOrEqual(6);
    expect(progress.errors).toHaveLength(1);
    expect(progress.errors[0]!.message).toMatch(/^connect failed: .*ECONNREFUSED/);
    expect(fleet.members.some((member) => member.attempts >= 2)).toBe(true);
    await fleet.stop();
    expect(fleet.progress()).toMatchObject({ phase: 'stopped', connected: 0, retrying: 0 });
  });

  it('refuses a URL the transport cannot use before connecting anything', () => {
    expect(() => new Fleet({ size: 1, url: 'mqtt://127.0.0.1:1883', caPem: '', rate: 1, concurrency: 1 })).toThrow(/not encrypted/);
  });
});

describe('adding devices', () => {
  it('refuses a device whose certificate or key cannot be used, naming it, and does not enlist it', async () => {
    const fleet = new Fleet({ size: 2, url: 'mqtts://127.0.0.1:1', caPem: '', rate: 1, concurrency: 1 });
    try {
      expect(() => fleet.add({ deviceId: 'broken-1', name: 'broken', certPem: 'not a certificate', keyPem: 'not a key' })).toThrow(
        /device broken-1: its certificate or key cannot be used \(.+\); provision it again/,
      );
      expect(fleet.members).toHaveLength(0);
    } finally {
      await fleet.stop();
    }
  });
});
