/**
 * `iotcloud harness --server` / `--mqtt` against a live `iotcloud up` that cannot be reached or
 * trusted: a setup error (the harness's exit code 2) that says what happened and what to do
 * (--ca, IOTCLOUD_CA, `iotcloud up`), never the usage text of a wrongly called command; and the
 * CA is found the way every client command finds it (IOTCLOUD_CA honoured).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadOrCreateCertificateAuthority } from '../../certs/index.ts';
import { exitCodes } from '../../harness/index.ts';
import { lanAddress } from '../../testkit/lan-address.ts';
import { IOTCLOUD_BIN, spawnUp, type UpProcess } from '../../testkit/up-process.ts';

const run = promisify(execFile);

let dir: string;
let up: UpProcess;
let env: NodeJS.ProcessEnv;
let otherCa: string;

async function harness(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [IOTCLOUD_BIN, 'harness', '--device', 'dev-x', '--report-dir', 'r', ...args], { env: { ...env, ...extraEnv }, cwd: dir });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

/** A setup error, told as one: advice, the exit code's meaning, and no usage text. */
function expectSetupError(result: { code: number; output: string }, advice: RegExp): void {
  expect(result.code, result.output).toBe(exitCodes.setupError);
  expect(result.output).toMatch(advice);
  expect(result.output.trimEnd().split('\n').at(-1)).toBe('exit 2 means setup error: the run could not start, nothing was tested');
  expect(result.output).not.toMatch(/called wrongly|Options:|--help/);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotcloud-harness-setup-'));
  env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home') };
  for (const name of ['IOTCLOUD_SERVER', 'IOTCLOUD_CA', 'IOTCLOUD_TOKEN', 'IOTCLOUD_MQTT_URL']) delete env[name];
  // On every address, so that it can also be reached by a name its certificate lacks (the LAN address).
  up = await spawnUp(['--host', '0.0.0.0', '--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'data')], { env });
  await loadOrCreateCertificateAuthority(join(dir, 'other-ca'));
  otherCa = join(dir, 'other-ca', 'ca.crt');
}, 120_000);

afterAll(async () => {
  await up?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('harness --server: TLS and connection failures are setup errors with advice', () => {
  it('(e) by an address the certificate does not name: --tls-host on the server is the way out', async () => {
    // The banner names loopback (0.0.0.0 is no address to connect to) and what a LAN board lacks.
    expect(up.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(up.output()).toContain('LAN        listening on 0.0.0.0, but the certificate names only localhost, 127.0.0.1, ::1: for boards on the LAN add --tls-host');
    const port = new URL(up.apiUrl).port;
    const result = await harness(['--server', `https://${lanAddress()}:${port}`, '--ca', up.caCertPath, '--token', 'iotc_any']);
    expectSetupError(result, /certificate does not name the host in https:\/\/[\d.]+:\d+ .*\n\s+next: use --server with a name the certificate carries .*or restart the server with --tls-host <that name or address>/);
  }, 60_000);

  it('(a) without the CA: names the system CAs, --ca and IOTCLOUD_CA', async () => {
    const result = await harness(['--server', up.apiUrl, '--token', 'iotc_any']);
    expectSetupError(result, /the server at https:\/\/127\.0\.0\.1:\d+ presented a certificate that the system CAs .* do not vouch for .*\n\s+next: pass that server's CA with --ca <its data dir>\/ca\/ca\.crt .*or set IOTCLOUD_CA/);
  }, 60_000);

  it('(b) with IOTCLOUD_CA: TLS is trusted and the run reaches the API (here: the token is refused)', async () => {
    const result = await harness(['--server', up.apiUrl, '--token', 'iotc_any'], { IOTCLOUD_CA: up.caCertPath });
    expectSetupError(result, /HTTP 401: UNAUTHORIZED/);
    expect(result.output).not.toMatch(/vouch/);
  }, 60_000);

  it('(c) a closed port: nothing answers, start it with `iotcloud up` or point --server elsewhere', async () => {
    const result = await harness(['--server', 'https://127.0.0.1:1', '--token', 'iotc_any']);
    expectSetupError(result, /nothing answers at https:\/\/127\.0\.0\.1:1 \(connection refused\)\.\n\s+next: start the server with `iotcloud up`, or point at yours with --server URL/);
  }, 60_000);

  it('(d) a wrong --ca: names that file and where it came from', async () => {
    const result = await harness(['--server', up.apiUrl, '--token', 'iotc_any', '--ca', otherCa]);
    expectSetupError(result, new RegExp(`a certificate that the CA in ${otherCa.replaceAll('.', '\\.')} \\(--ca\\) does not vouch for .*\\n\\s+next: pass that server's CA with --ca`));
  }, 60_000);

  it('not logged in: a setup error naming `iotcloud login` and --token, not the usage text', async () => {
    const result = await harness(['--server', up.apiUrl], { IOTCLOUD_CA: up.caCertPath });
    expectSetupError(result, /no token for https:\/\/127\.0\.0\.1:\d+: nobody is logged in there\.\n\s+next: run `iotcloud login <username> --server https:\/\/127\.0\.0\.1:\d+`, or pass --token/);
  }, 60_000);
});

describe('harness --mqtt mqtts://: the same', () => {
  it('without the CA, with IOTCLOUD_CA (then the broker wants a client certificate), and a closed port', async () => {
    expectSetupError(await harness(['--mqtt', up.mqttUrl]), /the broker at mqtts:\/\/127\.0\.0\.1:\d+ presented a certificate that the system CAs .* do not vouch for .*\n\s+next: pass that server's CA with --ca .*or set IOTCLOUD_CA/);
    expectSetupError(
      await harness(['--mqtt', up.mqttUrl], { IOTCLOUD_CA: up.caCertPath }),
      /the broker at mqtts:\/\/127\.0\.0\.1:\d+ wants a client certificate, and none was given .*\n\s+next: pass --cert and --key, or .*--service-credentials/,
    );
    expectSetupError(await harness(['--mqtt', 'mqtts://127.0.0.1:1']), /nothing answers at mqtts:\/\/127\.0\.0\.1:1 \(connection refused\)\.\n\s+next: start the server with `iotcloud up` .*--mqtt URL/);
  }, 90_000);

  it('wrong flags are still usage errors (exit 2 with the help)', async () => {
    const result = await harness(['--mqtt', up.mqttUrl, '--server', up.apiUrl]);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/choose one target/);
    expect(result.output).toMatch(/Options:/);
  }, 60_000);
});
