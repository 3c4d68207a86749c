/**
 * A board on the LAN checks the server's host name: `iotcloud up --tls-host` puts names and
 * addresses in the server certificate (checked here by real TLS handshakes naming them, against
 * the live server), a later `up` with a new name reissues it from the same root, and `register`
 * hands out the device URL on the first of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { runIotcloud } from '../../testkit/run-iotcloud.ts';
import { spawnUp, type UpProcess } from '../../testkit/up-process.ts';
import { handshake } from '../helpers/tls-handshake.ts';
import { RestClient } from '../../rest-client/index.ts';


describe('iotcloud up --tls-host: a certificate and device URLs a LAN board can use', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let up: UpProcess | undefined;

  const iotcloud = (...args: string[]) => runIotcloud(args, { env, cwd: dir });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotcloud-lan-'));
    env = { ...process.env, IOTCLOUD_HOME: join(dir, 'home') };
    for (const name of ['IOTCLOUD_SERVER', 'IOTCLOUD_CA', 'IOTCLOUD_TOKEN', 'IOTCLOUD_MQTT_URL', 'IOTCLOUD_PASSWORD', 'IOTCLOUD_TLS_HOSTS']) delete env[name];
  });
  afterAll(async () => {
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the names, hands them out at registration, and reissues from the same root for a new name', async () => {
    const dataDir = join(dir, 'server');
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', dataDir, '--tls-host', '192.0.2.10', '--tls-host', 'Board-Host.lan'], { env });
    expect(up.output()).toContain('server certificate created for localhost, 127.0.0.1, ::1, 192.0.2.10, board-host.lan');
    const apiPort = new URL(up.apiUrl).port;
    const mqttPort = new URL(up.mqttUrl).port;
    expect(up.output()).toContain(`LAN        https://192.0.2.10:${apiPort}   mqtts://192.0.2.10:${mqttPort}`);
    const firstRoot = up.rootCaPem;

    // The API listener, checked by name and by address the way a board's TLS stack would.
    for (const servername of ['board-host.lan', 'localhost']) {
      const answer = await handshake(up.apiUrl, { ca: firstRoot, servername });
      expect(answer.authorized, answer.error).toBe(true);
    }
    const { certificate: served, peer } = await handshake(up.apiUrl, { ca: firstRoot, servername: 'board-host.lan' });
    // A board that dials the address (no SNI for addresses) runs this check on it.
    expect(checkServerIdentity('192.0.2.10', peer)).toBeUndefined();
    expect(checkServerIdentity('192.0.2.11', peer)).toBeInstanceOf(Error);
    expect(served.subjectAltName?.split(', ')).toEqual(expect.arrayContaining(['IP Address:192.0.2.10', 'DNS:board-host.lan', 'DNS:localhost', 'IP Address:127.0.0.1']));
    expect(served.checkIP('192.0.2.10')).toBe('192.0.2.10');
    expect(served.checkHost('board-host.lan')).toBe('board-host.lan');
    expect(served.checkHost('other-host.lan')).toBeUndefined();
    expect(served.verify(new X509Certificate(firstRoot).publicKey)).toBe(true);

    // register hands out the device URL on the first --tls-host, and the device listener serves the same names.
    const where = ['--server', up.apiUrl, '--ca', up.caCertPath];
    expect((await iotcloud('signup', 'lan', '--password', 'correct horse battery', ...where)).code).toBe(0);
    expect((await iotcloud('login', 'lan', '--password', 'correct horse battery', ...where)).code).toBe(0);
    const registered = await iotcloud('register', 'lan board', '--device-id', 'lanboard1', '--out', 'certs');
    expect(registered.code, registered.stderr).toBe(0);
    expect(registered.stdout).toContain(`registered lan board as lanboard1; it connects to mqtts://192.0.2.10:${mqttPort}`);
    // The original API's registration hands out the same URL.
    const original = new RestClient({ baseUrl: up.apiUrl, caPem: firstRoot });
    try {
      const { secret } = await original.request<{ secret: string }>('POST', '/login', { username: 'lan', password: 'correct horse battery' });
      const answer = await original.request<{ mqtturl: string }>('POST', '/register_device', { username: 'lan', secret, devicename: 'original board' });
      expect(answer.mqtturl).toBe(`mqtts://192.0.2.10:${mqttPort}`);
    } finally {
      original.close();
    }
    const device = {
      ca: firstRoot,
      cert: await readFile(join(dir, 'certs', 'lanboard1_cert.pem')),
      key: await readFile(join(dir, 'certs', 'lanboard1_pkey.pem')),
    };
    const deviceSide = await handshake(up.mqttUrl, { ...device, servername: 'board-host.lan' });
    expect(deviceSide.authorized, deviceSide.error).toBe(true);
    expect(deviceSide.certificate.checkIP('192.0.2.10')).toBe('192.0.2.10');
    await up.stop();

    // Same data folder, a new name: reissued from the same root, which still verifies it.
    up = await spawnUp(['--api-port', '0', '--mqtt-port', '0', '--data-dir', dataDir, '--tls-host', 'new-name.lan'], { env });
    expect(up.output()).toContain('server certificate reissued from the same root CA (boards keep trusting it) for localhost, 127.0.0.1, ::1, new-name.lan');
    expect(up.rootCaPem).toBe(firstRoot);
    const reissued = await handshake(up.apiUrl, { ca: firstRoot, servername: 'new-name.lan' });
    expect(reissued.authorized, reissued.error).toBe(true);
    expect(reissued.certificate.fingerprint256).not.toBe(served.fingerprint256);
    expect(reissued.certificate.checkHost('board-host.lan')).toBeUndefined();
  }, 240_000);

  it('refuses a --tls-host that is neither a name nor an address, naming the flag', async () => {
    const refused = await iotcloud('up', '--api-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'refused'), '--tls-host', 'not a host');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--tls-host: invalid host "not a host"');
  }, 60_000);
});
