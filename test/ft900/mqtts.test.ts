/**
 * `ft900-host --mqtt`: the FT900 protocol core on its simulated board, straight on a real
 * iotcloud server's broker over MQTTS with mutual TLS (libmosquitto standing in for lwIP's MQTT
 * client on the board). Every command goes through the REST API, the broker and the C core and
 * back; then the failure paths: a HAL error, a refused identity, TLS failures, bad arguments, the
 * broker going away and coming back, an unregistered device, and a clean stop.
 *
 * Synchronisation is on events only: lines in ft900-host's log ("ready" once the subscription is
 * granted), process exits, and a bounded poll of GET /api/v1/devices for presence.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEphemeralCertificateAuthority } from '../../certs/index.ts';
import type { DeviceRegistration, RestClient } from '../../rest-client/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const firmwareDir = fileURLToPath(new URL('../../ft900/firmware/', import.meta.url));
// A fresh build folder per run, outside build/: firmware.test.ts (or another run of this file)
// may be running make at the same time, and each make reads every dependency file under its
// build folder. Building ft900-host from scratch takes a second or two.
let buildDir = '';
const hostBinary = () => join(buildDir, 'ft900-host');

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** One ft900-host process and its log (stderr), with waits on log lines and on its exit. */
class Host {
  readonly child: ChildProcess;
  log = '';
  exit: Exit | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly closed: Promise<Exit>;

  constructor(args: string[]) {
    this.child = spawn(hostBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.log += chunk.toString();
      this.notify();
    });
    // 'close' (not 'exit'): the whole log has been read by then.
    this.closed = new Promise((resolve) =>
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      }),
    );
    hosts.push(this);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  count(pattern: RegExp): number {
    return this.log.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`))?.length ?? 0;
  }

  /** Resolves once the log matches `pattern` `count` times; rejects when the process ends first, or after timeoutMs. */
  waitFor(pattern: RegExp, count = 1, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (this.count(pattern) >= count) finish();
        else if (this.exit) finish(new Error(`ft900-host ended (${JSON.stringify(this.exit)}) before ${count}x ${pattern}:\n${this.log}`));
      };
      const timer = setTimeout(() => finish(new Error(`no ${count}x ${pattern} within ${timeoutMs} ms:\n${this.log}`)), timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  /** The exit status, once the process has ended (bounded). */
  exited(timeoutMs = 20_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`ft900-host still running after ${timeoutMs} ms:\n${this.log}`)), timeoutMs);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  async stop(): Promise<Exit> {
    if (!this.exit) this.child.kill('SIGTERM');
    return this.exited();
  }
}

const hosts: Host[] = [];

/** Bounded poll of the device list until the device's presence is `online`. */
async function waitPresence(user: RestClient, deviceId: string, online: boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { devices } = await user.listDevices();
    if (devices.find((d) => d.deviceId === deviceId)?.online === online) return;
    if (Date.now() > deadline) throw new Error(`device ${deviceId} not ${online ? 'online' : 'offline'} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // poll interval, not a synchronisation
  }
}

/** A command through the REST API, with its HTTP status and body, without throwing. */
async function command(user: RestClient, deviceId: string, name: string, params: unknown = {}) {
  const { status, json } = await user.send('POST', `/api/v1/devices/${encodeURIComponent(deviceId)}/commands/${name}`, params);
  return { status, body: json as { result?: Record<string, unknown>; error?: { name?: string; field?: string; message?: string }; source?: string } };
}

describe('ft900-host --mqtt against a real iotcloud server (MQTTS, mutual TLS)', () => {
  let t: TestServer;
  let restarted: TestServer | undefined;
  let user: RestClient;
  let dir: string;
  let device: DeviceRegistration; // the board under test
  let other: DeviceRegistration; // a second registered device, for the refused identity
  let board: Host;
  const files = (d: DeviceRegistration) => ({ ca: join(dir, 'rootca.pem'), cert: join(dir, `${d.deviceId}_cert.pem`), key: join(dir, `${d.deviceId}_pkey.pem`) });
  const args = (d: DeviceRegistration, url: string, extra: string[] = [], f = files(d)) => ['--mqtt', url, '--device', d.deviceId, '--ca', f.ca, '--cert', f.cert, '--key', f.key, ...extra];
  const writePems = async (d: DeviceRegistration) => {
    await writeFile(join(dir, 'rootca.pem'), d.rootCa);
    await writeFile(files(d).cert, d.certificate);
    await writeFile(files(d).key, d.privateKey, { mode: 0o600 });
  };

  beforeAll(async () => {
    buildDir = await mkdtemp(join(tmpdir(), 'iotcloud-ft900-mqtts-build-'));
    const build = await run('make', ['-j4', '-C', firmwareDir, `BUILD=${buildDir}`, `${buildDir}/ft900-host`], 120_000);
    expect(build.code, build.stderr).toBe(0);
    const help = await run(hostBinary(), ['--help'], 10_000);
    expect(help.stdout, 'ft900-host was built without libmosquitto (scripts/setup-system.sh installs libmosquitto-dev)').not.toContain('not in this build');

    t = await startTestServer();
    user = await t.user();
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-ft900-mqtts-'));
    device = await user.registerDevice('ft900 on mqtts');
    other = await user.registerDevice('another board');
    await writePems(device);
    await writePems(other);
    board = new Host(args(device, t.server.mqttUrl, ['--verbose']));
    await board.waitFor(/; ready/);
    await waitPresence(user, device.deviceId, true);
  }, 130_000);

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
    await restarted?.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  it('connects as its device id with the device certificate, subscribes <id>/# at QoS 1 and shows online', async () => {
    expect(board.log).toContain(`connected to 127.0.0.1:${new URL(t.server.mqttUrl).port} as ${device.deviceId}`);
    expect(board.log).toContain(`subscribed to ${device.deviceId}/# (QoS 1); ready`);
    const { devices } = await user.listDevices();
    expect(devices.find((d) => d.deviceId === device.deviceId)?.online).toBe(true);
    expect(devices.find((d) => d.deviceId === other.deviceId)?.online).toBe(false);
  });

  it('answers every command through the REST API', async () => {
    const id = device.deviceId;
    expect((await user.command(id, 'get_status')).result).toEqual({ status: 'running' });
    expect((await user.command(id, 'set_gpio', { number: 18, value: 1 })).result).toEqual({ number: 18, value: 1 });
    expect((await user.command(id, 'get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 1 });
    expect((await user.command(id, 'get_gpio', { number: 17 })).result).toEqual({ number: 17, value: 0 });
    expect((await user.command(id, 'set_gpio', { number: 18, value: 0 })).result).toEqual({ number: 18, value: 0 });
    expect((await user.command(id, 'get_gpio', { number: 18 })).result).toEqual({ number: 18, value: 0 });
    expect((await user.command(id, 'set_rtc', { value: 1764144000 })).result).toEqual({ value: 1764144000 });
    const rtc = (await user.command(id, 'get_rtc')).result.value as number;
    expect(rtc).toBeGreaterThanOrEqual(1764144000);
    expect(rtc).toBeLessThan(1764144000 + 60);
    expect((await user.command(id, 'write_uart', { data: 'hello ft900 \u00e9\n' })).result).toEqual({ data: 'hello ft900 \u00e9\n' });
    expect((await user.command(id, 'get_mac')).result.value).toMatch(/^02:00(:[0-9a-f]{2}){4}$/);
    expect((await user.command(id, 'get_ip')).result).toEqual({ value: '192.168.1.20' });
    expect((await user.command(id, 'get_subnet')).result).toEqual({ value: '255.255.255.0' });
    expect((await user.command(id, 'get_gateway')).result).toEqual({ value: '192.168.1.1' });
  });

  it('an invalid request never reaches the board: the server answers 400 first (the same codec validates both sides)', async () => {
    // No request is both valid for the server and invalid for the board, so the board's
    // INVALID_PARAMS path cannot be reached through REST; it is covered over serial in
    // firmware.test.ts. Here: the 400 comes from the server and nothing is published.
    const before = board.count(/REQUEST /);
    const bad = await command(user, device.deviceId, 'set_gpio', { number: 99, value: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ name: 'INVALID_PARAMS', field: '/number' });
    // The next request the board logs is the valid one that followed (requests arrive in order).
    expect((await user.command(device.deviceId, 'get_status')).result).toEqual({ status: 'running' });
    await board.waitFor(/REQUEST /, before + 1);
    const requests = [...board.log.matchAll(/REQUEST (\S+)/g)].map((m) => m[1]);
    expect(requests[before]).toBe(`${device.deviceId}/get_status`);
  });

  it('reset_device answers "restarting", then disconnects, restarts the board at power-on state and reconnects', async () => {
    const id = device.deviceId;
    await user.command(id, 'set_gpio', { number: 5, value: 1 });
    await user.command(id, 'set_rtc', { value: 2_000_000_000 });
    const ready = board.count(/; ready/);
    expect((await user.command(id, 'reset_device')).result).toEqual({ status: 'restarting' });
    await board.waitFor(/reset #1: board back to power-on state, reconnecting/);
    await board.waitFor(/; ready/, ready + 1);
    await waitPresence(user, id, true);
    expect((await user.command(id, 'get_gpio', { number: 5 })).result).toEqual({ number: 5, value: 0 });
    const rtc = (await user.command(id, 'get_rtc')).result.value as number; // battery-backed: keeps its time
    expect(rtc).toBeGreaterThanOrEqual(2_000_000_000);
    expect(rtc).toBeLessThan(2_000_000_000 + 60);
    expect((await user.command(id, 'get_status')).result).toEqual({ status: 'running' });
  });

  it('a failing HAL call on the board comes back as the device\'s INTERNAL error (502); RSA device keys work too', async () => {
    const faulty = await user.registerDevice('faulty board', { keyAlgorithm: 'rsa-2048' });
    await writePems(faulty);
    const host = new Host(args(faulty, t.server.mqttUrl, ['--sim-fail', 'gpio_set,get_mac']));
    await host.waitFor(/; ready/);
    const failed = await command(user, faulty.deviceId, 'set_gpio', { number: 1, value: 1 });
    expect(failed.status).toBe(502);
    expect(failed.body.source).toBe('device');
    expect(failed.body.error?.name).toBe('INTERNAL');
    expect((await command(user, faulty.deviceId, 'get_mac')).body.error?.name).toBe('INTERNAL');
    expect((await user.command(faulty.deviceId, 'get_gpio', { number: 1 })).result).toEqual({ number: 1, value: 0 });
    expect(await host.stop()).toEqual({ code: 0, signal: null });
  });

  it("refuses another device's id with this certificate: a clear message and exit status 3", async () => {
    const impostor = new Host(args(other, t.server.mqttUrl, [], files(device)));
    expect(await impostor.exited()).toEqual({ code: 3, signal: null });
    expect(impostor.log).toContain(`refused device ${other.deviceId}: Connection Refused: not authorised. (CONNACK 5)`);
    expect(impostor.log).toContain('the client id must be the CN of --cert');
    expect(impostor.log).not.toContain('ready');
    // The real board was not disturbed, and the other device never came online.
    expect((await user.command(device.deviceId, 'get_status')).result).toEqual({ status: 'running' });
    expect((await user.listDevices()).devices.find((d) => d.deviceId === other.deviceId)?.online).toBe(false);
  });

  describe('TLS failures and bad arguments', () => {
    it('a --ca that is not the platform CA: "certificate verify failed", and --retries 0 gives up (status 1)', async () => {
      const f = files(device);
      const host = new Host(args(device, t.server.mqttUrl, ['--retries', '0'], { ...f, ca: f.cert }));
      expect(await host.exited()).toEqual({ code: 1, signal: null });
      expect(host.log, host.log).toMatch(/failed: TLS failure: .*certificate verify failed -- the broker's certificate is not trusted/);
      expect(host.log).toContain('giving up after 1 failed attempt in a row');
    });

    it('a device certificate from a foreign CA: the broker hangs up during the handshake, retried with backoff', async () => {
      const foreign = await createEphemeralCertificateAuthority({ commonName: 'foreign' });
      const forged = await foreign.issueDeviceCertificate(device.deviceId);
      const cert = join(dir, 'forged_cert.pem');
      const key = join(dir, 'forged_pkey.pem');
      await writeFile(cert, forged.certPem);
      await writeFile(key, forged.keyPem);
      const host = new Host(args(device, t.server.mqttUrl, ['--retries', '1'], { ca: files(device).ca, cert, key }));
      expect(await host.exited()).toEqual({ code: 1, signal: null });
      // TLS 1.3: the broker rejects the client certificate after the client's side of the
      // handshake, so this shows up as OpenSSL's "unexpected eof" or as a write into a closed
      // connection, depending on timing; both get the same explanation.
      expect(host.count(/connection to .* failed: .*most likely it does not accept --cert \(issued by another CA\?\)/), host.log).toBe(2);
      expect(host.log).toContain('reconnecting in 1 s');
      expect(host.log).toContain('giving up after 2 failed attempts in a row');
    });

    it('a --key that does not belong to --cert: status 2 before any retry', async () => {
      const host = new Host(args(device, t.server.mqttUrl, [], { ...files(device), key: files(other).key }));
      expect(await host.exited()).toEqual({ code: 2, signal: null });
      expect(host.log).toMatch(/cannot load the TLS files .*key values mismatch -- --key is not the private key of --cert/);
    });

    it('unreadable or wrong files and bad flags: status 2 with the reason', async () => {
      const f = files(device);
      const url = t.server.mqttUrl;
      const cases: [string[], RegExp][] = [
        [args(device, url, [], { ...f, key: join(dir, 'missing.pem') }), /cannot read --key .*missing\.pem: No such file or directory/],
        [args(device, url, [], { ...f, cert: f.key }), /--cert .* is not a certificate in PEM form/],
        [args(device, url.replace('mqtts:', 'mqtt:')), /devices connect with TLS only; use mqtts:\/\/host:port/],
        [args(device, `${url}0000`), /the port must be 1\.\.65535/],
        [['--mqtt', url, '--device', device.deviceId], /--mqtt needs --ca <rootca\.pem>, --cert <device cert> and --key <device key>/],
        [args(device, url, ['--retries', 'lots']), /--retries lots: expected a count/],
        [args(device, url, ['--sim-fail', 'gpio_set,flux']), /--sim-fail: unknown HAL function "flux"/],
        [args(device, url, ['--serial', '/dev/null']), /give --serial or --mqtt, not both/],
        [[...args(device, url).map((a) => (a === device.deviceId ? 'bad/id' : a))], /invalid device id "bad\/id"/],
        [args(device, url, ['--bogus']), /unknown option "--bogus"/],
      ];
      const results = await Promise.all(cases.map(async ([argv]) => {
        const host = new Host(argv);
        return { exit: await host.exited(), log: host.log };
      }));
      results.forEach(({ exit, log }, i) => {
        expect(exit, log).toEqual({ code: 2, signal: null });
        expect(log).toMatch(cases[i]![1]);
      });
    });
  });

  it('reconnects with backoff when the broker goes away, and serves again once it is back', async () => {
    const lost = board.count(/connection to .* lost/);
    const ready = board.count(/; ready/);
    const apiPort = Number(new URL(t.server.apiUrl).port);
    const mqttPort = Number(new URL(t.server.mqttUrl).port);
    await t.server.close();
    await board.waitFor(/connection to .* lost/, lost + 1);
    // Nobody listens now: the first attempt comes after 1 s, is refused, and the wait doubles.
    await board.waitFor(/connection to .* failed: Connection refused/);
    await board.waitFor(/reconnecting in 2 s/);
    const since = board.log.slice(board.log.lastIndexOf(' lost: '));
    expect(since.match(/reconnecting in \d+ s|failed: Connection refused/g)).toEqual(['reconnecting in 1 s', 'failed: Connection refused', 'reconnecting in 2 s']);

    restarted = await startTestServer({ apiPort, mqttPort }, t.dataDir);
    const token = user.token;
    user = restarted.anonymous(); // the same account: sessions live in the registry, which survived
    user.token = token;
    await board.waitFor(/; ready/, ready + 1, 20_000);
    await waitPresence(user, device.deviceId, true);
    expect((await user.command(device.deviceId, 'get_status')).result).toEqual({ status: 'running' });
    expect((await user.command(device.deviceId, 'set_gpio', { number: 2, value: 1 })).result).toEqual({ number: 2, value: 1 });
  }, 40_000);

  it('an unregistered device is disconnected, then refused when it reconnects: status 3', async () => {
    const server = restarted ?? t;
    const gone = await server.user();
    const reg = await gone.registerDevice('short-lived board');
    await writePems(reg);
    const host = new Host(args(reg, server.server.mqttUrl));
    await host.waitFor(/; ready/);
    await gone.unregisterDevice(reg.deviceId);
    expect(await host.exited()).toEqual({ code: 3, signal: null });
    expect(host.log).toMatch(/connection to .* lost/);
    expect(host.log).toContain('(CONNACK 5)');
  });

  it('stops cleanly on SIGTERM: DISCONNECT, status 0, and the device goes offline', async () => {
    board.child.kill('SIGTERM');
    expect(await board.exited()).toEqual({ code: 0, signal: null });
    expect(board.log).toContain('stopping on signal 15');
    await waitPresence(user, device.deviceId, false);
  });
});
