/** Load-or-create of the root CA and of the server TLS material, on a real file system. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import {
  certificateBundle,
  certificateFiles,
  createEphemeralCertificateAuthority,
  fingerprintOfPem,
  loadOrCreateCertificateAuthority,
  loadOrCreateServerCertificate,
} from '../../certs/index.ts';
import { certificateAuthorityFromPem } from '../../certs/ca.ts';
import { createRoot } from '../../certs/root.ts';
import { opensslVerify, tempDir } from './helpers.ts';

/** A PEM armour line, built so no key-shaped text sits in the repository. */
const pemLine = (word: 'BEGIN' | 'END') => `${'-'.repeat(5)}${word} PRIVATE KEY${'-'.repeat(5)}`;

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

/** The base64 body of a PEM, for checking that it never leaks anywhere. */
function pemBody(pem: string): string {
  return pem.split('\n').slice(1, -2).join('');
}

async function isMissing(path: string): Promise<boolean> {
  return stat(path).then(() => false, () => true);
}

describe('loadOrCreateCertificateAuthority', () => {
  it('creates the root on first use with owner-only key and directory, and loads the same root afterwards', async () => {
    const dir = join(await tempDir(), 'ca');
    const created = await loadOrCreateCertificateAuthority(dir);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, certificateFiles.rootKey))).toBe(0o600);
    expect(await readFile(join(dir, certificateFiles.rootCert), 'utf8')).toBe(created.rootCertPem);
    expect(await readFile(join(dir, certificateFiles.rootKey), 'utf8')).toMatch(/^-{5}BEGIN PRIVATE KEY-{5}\n/);

    const loaded = await loadOrCreateCertificateAuthority(dir);
    expect(loaded.rootFingerprint).toBe(created.rootFingerprint);
    expect(loaded.rootCertPem).toBe(created.rootCertPem);
    expect(await modeOf(join(dir, certificateFiles.deviceCaKey))).toBe(0o600);
    expect(await readFile(join(dir, certificateFiles.deviceCaCert), 'utf8')).toBe(created.clientTrustPem);
    expect(loaded.clientTrustPem).toBe(created.clientTrustPem);
    // Certificates issued before a restart stay valid after it.
    const before = await created.issueDeviceCertificate('before-restart');
    expect((await opensslVerify(loaded.clientTrustPem, before.certPem, 'sslclient')).ok).toBe(true);
    const after = await loaded.issueDeviceCertificate('after-restart');
    expect((await opensslVerify(created.clientTrustPem, after.certPem, 'sslclient')).ok).toBe(true);
    // A new directory is not an old one: no root-issued devices to keep trusting.
    expect(await isMissing(join(dir, certificateFiles.rootIssuedDevices))).toBe(true);
  });

  it('keeps trusting the root for client certificates in a directory from before the device CA, until told not to', async () => {
    const dir = await tempDir();
    // Such a directory holds the root alone, and its devices were issued by the root.
    const oldRoot = await createRoot();
    await writeFile(join(dir, certificateFiles.rootKey), oldRoot.keyPem, { mode: 0o600 });
    await writeFile(join(dir, certificateFiles.rootCert), oldRoot.certPem);
    const oldDevice = await (await certificateAuthorityFromPem({ root: oldRoot, deviceCa: oldRoot }, 'test')).issueDeviceCertificate('old-device');

    const upgraded = await loadOrCreateCertificateAuthority(dir);
    expect(upgraded.rootCertPem).toBe(oldRoot.certPem); // what devices and clients trust is unchanged
    expect(await readFile(join(dir, certificateFiles.rootIssuedDevices), 'utf8')).toMatch(/Delete this file once/);
    expect(upgraded.clientTrustPem).toBe(certificateBundle(await readFile(join(dir, certificateFiles.deviceCaCert), 'utf8'), oldRoot.certPem));
    const newDevice = await upgraded.issueDeviceCertificate('new-device');
    expect((await opensslVerify(upgraded.clientTrustPem, oldDevice.certPem, 'sslclient')).ok).toBe(true);
    expect((await opensslVerify(upgraded.clientTrustPem, newDevice.certPem, 'sslclient')).ok).toBe(true);
    expect((await loadOrCreateCertificateAuthority(dir)).clientTrustPem).toBe(upgraded.clientTrustPem); // and after a restart

    await rm(join(dir, certificateFiles.rootIssuedDevices));
    const reRegistered = await loadOrCreateCertificateAuthority(dir);
    expect((await opensslVerify(reRegistered.clientTrustPem, oldDevice.certPem, 'sslclient')).ok).toBe(false);
    expect((await opensslVerify(reRegistered.clientTrustPem, newDevice.certPem, 'sslclient')).ok).toBe(true);
  });

  it('restricts an existing directory to its owner before putting a key in it', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o755);
    await loadOrCreateCertificateAuthority(dir);
    expect(await modeOf(dir)).toBe(0o700);
  });

  it('uses commonName for a new root only', async () => {
    const dir = await tempDir();
    const created = await loadOrCreateCertificateAuthority(dir, { commonName: 'Factory line 3 CA' });
    expect(new x509.X509Certificate(created.rootCertPem).subject).toBe('CN=Factory line 3 CA');
    const loaded = await loadOrCreateCertificateAuthority(dir, { commonName: 'Another name' });
    expect(loaded.rootFingerprint).toBe(created.rootFingerprint);
  });

  it('agrees on one root when several callers create it at the same time', async () => {
    const dir = await tempDir();
    const cas = await Promise.all(Array.from({ length: 4 }, () => loadOrCreateCertificateAuthority(dir)));
    const reloaded = await loadOrCreateCertificateAuthority(dir);
    expect(new Set(cas.map((ca) => ca.rootFingerprint))).toEqual(new Set([reloaded.rootFingerprint]));
    expect(new Set(cas.map((ca) => ca.clientTrustPem))).toEqual(new Set([reloaded.clientTrustPem]));
    expect(await isMissing(join(dir, certificateFiles.rootIssuedDevices))).toBe(true);
  });

  it('never exposes the root key through the CA object', async () => {
    const dir = await tempDir();
    const ca = await loadOrCreateCertificateAuthority(dir);
    const keys = await Promise.all([certificateFiles.rootKey, certificateFiles.deviceCaKey].map(async (file) => pemBody(await readFile(join(dir, file), 'utf8'))));
    const shown = `${inspect(ca, { depth: 10, showHidden: true })} ${JSON.stringify(ca)} ${Object.keys(ca).join(' ')}`;
    for (const key of keys) {
      expect(key.length).toBeGreaterThan(100);
      expect(shown).not.toContain(key.slice(0, 40));
    }
    expect(shown).not.toContain('PRIVATE KEY');
  });

  it('refuses a directory with a certificate but no key, and leaves it alone', async () => {
    const dir = await tempDir();
    const ca = await loadOrCreateCertificateAuthority(dir);
    await rm(join(dir, certificateFiles.rootKey));
    await expect(loadOrCreateCertificateAuthority(dir)).rejects.toThrow(/incomplete root CA .*ca\.key is missing/);
    expect(await readFile(join(dir, certificateFiles.rootCert), 'utf8')).toBe(ca.rootCertPem);
  });

  it('refuses a directory with a key but no certificate, without replacing the key', async () => {
    const dir = await tempDir();
    await loadOrCreateCertificateAuthority(dir);
    const key = await readFile(join(dir, certificateFiles.rootKey), 'utf8');
    await rm(join(dir, certificateFiles.rootCert));
    await expect(loadOrCreateCertificateAuthority(dir)).rejects.toThrow(/incomplete root CA .*ca\.crt is missing/);
    expect(await readFile(join(dir, certificateFiles.rootKey), 'utf8')).toBe(key);
  });

  it('reports an unreadable or foreign key without quoting it', async () => {
    const dir = await tempDir();
    await loadOrCreateCertificateAuthority(dir);
    const keyPath = join(dir, certificateFiles.rootKey);

    await writeFile(keyPath, `${pemLine('BEGIN')}\nU0VDUkVULUdBUkJBR0U=\n${pemLine('END')}\n`); // garbage, shaped like a key file
    const unreadable = await loadOrCreateCertificateAuthority(dir).then(() => undefined, (error: Error) => error);
    expect(unreadable?.message).toMatch(/root key in .* is not a PKCS#8 PEM private key/);
    expect(unreadable?.message).not.toContain('U0VDUkVULUdBUkJBR0U');

    const otherDir = await tempDir();
    await loadOrCreateCertificateAuthority(otherDir);
    const otherKey = await readFile(join(otherDir, certificateFiles.rootKey), 'utf8');
    await writeFile(keyPath, otherKey);
    const foreign = await loadOrCreateCertificateAuthority(dir).then(() => undefined, (error: Error) => error);
    expect(foreign?.message).toMatch(/does not belong to the root certificate/);
    expect(`${foreign?.message} ${foreign?.stack}`).not.toContain(pemBody(otherKey).slice(0, 40));
  });
});

describe('loadOrCreateServerCertificate', () => {
  const hosts = ['localhost', '127.0.0.1', '::1'];

  it('writes server.crt and an owner-only server.key, issued by the CA for the hosts', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const dir = join(await tempDir(), 'tls');
    const material = await loadOrCreateServerCertificate(ca, dir, hosts);
    expect(await modeOf(dir)).toBe(0o700);
    expect(await modeOf(join(dir, certificateFiles.serverKey))).toBe(0o600);
    expect(await readFile(join(dir, certificateFiles.serverCert), 'utf8')).toBe(material.certPem);
    expect(await readFile(join(dir, certificateFiles.serverKey), 'utf8')).toBe(material.keyPem);
    expect((await opensslVerify(ca.rootCertPem, material.certPem, 'sslserver')).ok).toBe(true);
  });

  it('reuses the stored certificate for the same hosts, whatever their order or spelling', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const dir = await tempDir();
    const first = await loadOrCreateServerCertificate(ca, dir, hosts);
    const again = await loadOrCreateServerCertificate(ca, dir, ['0:0:0:0:0:0:0:1', 'LOCALHOST', '127.0.0.1', 'localhost']);
    expect(again).toEqual({ ...first, status: 'reused' });
    expect(first.status).toBe('created');
  });

  it('reissues when the host list changes', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const dir = await tempDir();
    const first = await loadOrCreateServerCertificate(ca, dir, hosts);
    const changed = await loadOrCreateServerCertificate(ca, dir, [...hosts, 'broker.lan']);
    expect(fingerprintOfPem(changed.certPem)).not.toBe(fingerprintOfPem(first.certPem));
    expect(changed.keyPem).not.toBe(first.keyPem);
    expect(new x509.X509Certificate(changed.certPem).getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((name) => name.value)).toContain('broker.lan');
    expect(changed).toMatchObject({ status: 'reissued', hosts: ['localhost', '127.0.0.1', '::1', 'broker.lan'] });
    const shrunk = await loadOrCreateServerCertificate(ca, dir, ['localhost']);
    expect(fingerprintOfPem(shrunk.certPem)).not.toBe(fingerprintOfPem(changed.certPem));
  });

  it('reissues when the stored certificate is near expiry', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const dir = await tempDir();
    const expiring = await ca.issueServerCertificate(hosts, { validDays: 10 });
    await writeFile(join(dir, certificateFiles.serverCert), expiring.certPem);
    await writeFile(join(dir, certificateFiles.serverKey), expiring.keyPem, { mode: 0o600 });
    const renewed = await loadOrCreateServerCertificate(ca, dir, hosts);
    expect(fingerprintOfPem(renewed.certPem)).not.toBe(expiring.fingerprint);
    expect(new x509.X509Certificate(renewed.certPem).notAfter.getTime()).toBeGreaterThan(expiring.notAfter.getTime());
  });

  it('reissues when the stored certificate comes from another root', async () => {
    const dir = await tempDir();
    const old = await loadOrCreateServerCertificate(await createEphemeralCertificateAuthority(), dir, hosts);
    const ca = await createEphemeralCertificateAuthority();
    const current = await loadOrCreateServerCertificate(ca, dir, hosts);
    expect(current.certPem).not.toBe(old.certPem);
    expect((await opensslVerify(ca.rootCertPem, current.certPem, 'sslserver')).ok).toBe(true);
  });

  it('reissues when the stored key does not match the certificate', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const dir = await tempDir();
    const first = await loadOrCreateServerCertificate(ca, dir, hosts);
    await writeFile(join(dir, certificateFiles.serverKey), (await ca.issueDeviceCertificate('other')).keyPem);
    const repaired = await loadOrCreateServerCertificate(ca, dir, hosts);
    expect(repaired.certPem).not.toBe(first.certPem);
    expect(new X509Certificate(repaired.certPem).checkPrivateKey(createPrivateKey(repaired.keyPem))).toBe(true);
  });

  it('rejects an invalid host list before touching the directory', async () => {
    const ca = await createEphemeralCertificateAuthority();
    const dir = join(await tempDir(), 'never-created');
    await expect(loadOrCreateServerCertificate(ca, dir, ['not a host'])).rejects.toThrow(/invalid host "not a host"/);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });
});
