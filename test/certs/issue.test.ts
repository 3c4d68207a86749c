import { createPublicKey, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { certificateBundle, createEphemeralCertificateAuthority, fingerprintOfPem, type CertificateAuthority } from '../../certs/index.ts';
import { validityOf } from '../../certs/issue.ts';
import { buildChain, opensslVerify } from './helpers.ts';

const dayMs = 24 * 60 * 60 * 1000;
const clientAuth = '1.3.6.1.5.5.7.3.2';
const serverAuth = '1.3.6.1.5.5.7.3.1';

let ca: CertificateAuthority;
let foreign: CertificateAuthority;
beforeAll(async () => {
  ca = await createEphemeralCertificateAuthority();
  // Same default CN on purpose: only the key, not the name, may decide whether a chain holds.
  foreign = await createEphemeralCertificateAuthority();
});

function parse(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

describe('root certificate', () => {
  it('is an ECDSA P-256 CA, pathlen 0, keyCertSign + cRLSign, valid for 10 years', async () => {
    const root = parse(ca.rootCertPem);
    const constraints = root.getExtension(x509.BasicConstraintsExtension);
    expect(constraints).toMatchObject({ ca: true, pathLength: 0, critical: true });
    const usage = root.getExtension(x509.KeyUsagesExtension);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(usage?.critical).toBe(true);
    expect(root.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    const years = (root.notAfter.getTime() - Date.now()) / (365.25 * dayMs);
    expect(years).toBeGreaterThan(9.99);
    expect(years).toBeLessThan(10.01);
    expect(await root.isSelfSigned()).toBe(true);
  });

  it('takes its CN from the commonName option, and names the device CA after it', async () => {
    const named = await createEphemeralCertificateAuthority({ commonName: 'Lab root 7' });
    expect(parse(named.rootCertPem).subject).toBe('CN=Lab root 7');
    expect(parse(named.clientTrustPem).subject).toBe('CN=Lab root 7: devices');
    const longest = await createEphemeralCertificateAuthority({ commonName: 'r'.repeat(64) });
    expect(parse(longest.clientTrustPem).subject).toBe(`CN=${'r'.repeat(55)}: devices`);
    await expect(createEphemeralCertificateAuthority({ commonName: '' })).rejects.toThrow(/commonName/);
  });
});

describe('device CA', () => {
  it('is a second self-signed root like the root, a different key, and the only CA listeners trust for clients', async () => {
    const deviceCa = parse(ca.clientTrustPem);
    expect(deviceCa.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: true, pathLength: 0, critical: true });
    expect(deviceCa.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(await deviceCa.isSelfSigned()).toBe(true);
    expect(deviceCa.subject).toBe('CN=iotcloud root CA: devices');
    expect(Buffer.from(deviceCa.publicKey.rawData).equals(Buffer.from(parse(ca.rootCertPem).publicKey.rawData))).toBe(false);
    expect(ca.clientTrustPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    // A server certificate never passes as a client one, whatever its key usage.
    const server = await ca.issueServerCertificate(['127.0.0.1']);
    expect((await opensslVerify(ca.clientTrustPem, server.certPem, 'sslserver')).ok).toBe(false);
  });
});

describe('certificateBundle', () => {
  it('keeps each certificate once, in order, and drops whatever is not a certificate', async () => {
    const other = await createEphemeralCertificateAuthority();
    const bundle = certificateBundle(ca.rootCertPem, `junk\n${other.rootCertPem}`, ca.rootCertPem);
    const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    expect(blocks.map((block) => parse(block).subject)).toEqual(['CN=iotcloud root CA', 'CN=iotcloud root CA']);
    expect(blocks.map((block) => new X509Certificate(block).fingerprint256)).toEqual([ca.rootCertPem, other.rootCertPem].map((pem) => new X509Certificate(pem).fingerprint256));
    expect(bundle).not.toContain('junk');
  });
});

describe('device certificates', () => {
  it('are ECDSA P-256 by default and chain to the root (chain builder and openssl verify)', async () => {
    const issued = await ca.issueDeviceCertificate('ft900-dev_1');
    expect(parse(issued.certPem).publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    const chain = await buildChain(ca.clientTrustPem, issued.certPem);
    expect(chain.map((cert) => cert.subject)).toEqual(['CN=ft900-dev_1', 'CN=iotcloud root CA: devices']);
    const verified = await opensslVerify(ca.clientTrustPem, issued.certPem, 'sslclient');
    expect(verified.output).toContain('leaf.pem: OK');
    expect(verified.ok).toBe(true);
    // Not from the root: a listener trusting only the root (what devices trust) refuses it.
    expect((await opensslVerify(ca.rootCertPem, issued.certPem, 'sslclient')).ok).toBe(false);
  });

  it('have CN = device id, clientAuth only, digitalSignature only, and are not a CA', async () => {
    const issued = await ca.issueDeviceCertificate('sensor-42');
    const cert = parse(issued.certPem);
    expect(cert.subject).toBe('CN=sensor-42');
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([clientAuth]);
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(cert.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: false, critical: true });
    expect(new X509Certificate(issued.certPem).ca).toBe(false);
    // The EKU must keep a device certificate from impersonating a server.
    const asServer = await opensslVerify(ca.clientTrustPem, issued.certPem, 'sslserver');
    expect(asServer.ok).toBe(false);
    expect(asServer.output).toMatch(/unsuitable certificate purpose/);
  });

  it('are RSA-2048 when asked, and still chain to the root', async () => {
    const issued = await ca.issueDeviceCertificate('legacy-1', { algorithm: 'rsa-2048' });
    const publicKey = new X509Certificate(issued.certPem).publicKey;
    expect(publicKey.asymmetricKeyType).toBe('rsa');
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect((await opensslVerify(ca.clientTrustPem, issued.certPem, 'sslclient')).ok).toBe(true);
  });

  it('come with the PKCS#8 private key of the certified public key', async () => {
    for (const algorithm of ['ecdsa-p256', 'rsa-2048'] as const) {
      const issued = await ca.issueDeviceCertificate('keyed', { algorithm });
      expect(issued.keyPem).toMatch(/^-{5}BEGIN PRIVATE KEY-{5}\n[A-Za-z0-9+/=\n]+-{5}END PRIVATE KEY-{5}\n$/);
      const cert = new X509Certificate(issued.certPem);
      expect(createPublicKey(issued.keyPem).export({ type: 'spki', format: 'der' })).toEqual(cert.publicKey.export({ type: 'spki', format: 'der' }));
    }
  });

  it('have random 16-byte positive serial numbers, reported as in the certificate', async () => {
    const issued = await Promise.all(Array.from({ length: 20 }, (_, i) => ca.issueDeviceCertificate(`serial-${i}`)));
    for (const { serialNumber, certPem } of issued) {
      expect(serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(new X509Certificate(certPem).serialNumber.toLowerCase()).toBe(serialNumber);
    }
    expect(new Set(issued.map((cert) => cert.serialNumber)).size).toBe(issued.length);
  });

  it('are valid from a few minutes ago for validDays, never beyond the root', async () => {
    const before = Date.now();
    const issued = await ca.issueDeviceCertificate('timed', { validDays: 30 });
    const cert = parse(issued.certPem);
    expect(cert.notAfter.getTime()).toBe(issued.notAfter.getTime());
    expect(Math.abs(issued.notAfter.getTime() - (before + 30 * dayMs))).toBeLessThan(5_000);
    // Backdated by minutes so a device whose clock runs a little behind still accepts it.
    expect(cert.notBefore.getTime()).toBeLessThanOrEqual(before - 4 * 60 * 1000);
    expect(cert.notBefore.getTime()).toBeGreaterThan(before - 10 * 60 * 1000);

    const longest = await ca.issueDeviceCertificate('long', { validDays: 3650 });
    expect(longest.notAfter.getTime()).toBeLessThanOrEqual(parse(ca.clientTrustPem).notAfter.getTime());
  });

  it('never outlive their issuer', () => {
    // Roots always live 10 years, so the cap is checked on the validity rule itself.
    const issuerNotAfter = new Date(Date.now() + 10 * dayMs);
    expect(validityOf(365, issuerNotAfter).notAfter.getTime()).toBe(Math.floor(issuerNotAfter.getTime() / 1000) * 1000);
    expect(validityOf(5, issuerNotAfter).notAfter.getTime()).toBeLessThan(issuerNotAfter.getTime() - 4 * dayMs);
  });

  it.each(['a/b', '+', '#', '', 'x'.repeat(65), '-leading-dash', 'with space', 'dot.ted'])('reject the invalid device id %j', async (deviceId) => {
    await expect(ca.issueDeviceCertificate(deviceId)).rejects.toThrow(/invalid device id .*1 to 64 characters, letters, digits, '_' and '-'/);
  });

  it('accept the longest valid device id (64 characters)', async () => {
    const id = `A${'b'.repeat(62)}9`;
    expect(parse((await ca.issueDeviceCertificate(id)).certPem).subject).toBe(`CN=${id}`);
  });

  it('reject invalid options', async () => {
    await expect(ca.issueDeviceCertificate('dev', { validDays: 0 })).rejects.toThrow(/validDays/);
    await expect(ca.issueDeviceCertificate('dev', { validDays: 1.5 })).rejects.toThrow(/validDays/);
    await expect(ca.issueDeviceCertificate('dev', { validDays: 3651 })).rejects.toThrow(/validDays/);
    // @ts-expect-error: an algorithm outside KeyAlgorithm, as untyped callers could pass
    await expect(ca.issueDeviceCertificate('dev', { algorithm: 'dsa-1024' })).rejects.toThrow(/key algorithm/);
  });

  it('from a foreign CA with the same name do not chain to our device CA', async () => {
    const stranger = await foreign.issueDeviceCertificate('intruder');
    expect(parse(stranger.certPem).issuer).toBe(parse(ca.clientTrustPem).subject);
    expect(await buildChain(ca.clientTrustPem, stranger.certPem)).toHaveLength(1);
    const verified = await opensslVerify(ca.clientTrustPem, stranger.certPem, 'sslclient');
    expect(verified.ok).toBe(false);
    expect(verified.output).toMatch(/unable to get local issuer certificate|certificate signature failure/);
  });
});

describe('server certificates', () => {
  it('carry serverAuth and DNS + IP subject alternative names', async () => {
    const issued = await ca.issueServerCertificate(['localhost', '127.0.0.1', '::1', 'Broker.Example']);
    const cert = new X509Certificate(issued.certPem);
    expect(cert.subjectAltName?.split(', ')).toEqual(['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'DNS:broker.example']);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost('broker.example')).toBe('broker.example');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBeDefined();
    expect(cert.checkHost('elsewhere.example')).toBeUndefined();
    expect(parse(issued.certPem).getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([serverAuth]);
    expect((await opensslVerify(ca.rootCertPem, issued.certPem, 'sslserver')).ok).toBe(true);
    expect((await opensslVerify(ca.rootCertPem, issued.certPem, 'sslclient')).ok).toBe(false);
  });

  it('allow RSA key exchange (keyEncipherment) when the key is RSA', async () => {
    const rsa = parse((await ca.issueServerCertificate(['localhost'], { algorithm: 'rsa-2048' })).certPem);
    expect(rsa.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    const ecdsa = parse((await ca.issueServerCertificate(['localhost'])).certPem);
    expect(ecdsa.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
  });

  it.each([[[]], [['bad host']], [['fe80::1%eth0']], [['a..b']], [['-x.example']]])('reject the host list %j', async (hosts) => {
    await expect(ca.issueServerCertificate(hosts)).rejects.toThrow(/host/);
  });
});

describe('fingerprints', () => {
  it('equal X509Certificate.fingerprint256, lower-cased without colons, and are stable', async () => {
    const issued = await ca.issueDeviceCertificate('printed');
    const expected = new X509Certificate(issued.certPem).fingerprint256.replaceAll(':', '').toLowerCase();
    expect(issued.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(issued.fingerprint).toBe(expected);
    expect(fingerprintOfPem(issued.certPem)).toBe(expected);
    expect(fingerprintOfPem(issued.certPem)).toBe(fingerprintOfPem(issued.certPem.replaceAll('\n', '\r\n')));
    expect(ca.rootFingerprint).toBe(new X509Certificate(ca.rootCertPem).fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it('differ between certificates, even for the same device id', async () => {
    const [first, second] = await Promise.all([ca.issueDeviceCertificate('twin'), ca.issueDeviceCertificate('twin')]);
    expect(first.fingerprint).not.toBe(second.fingerprint);
  });

  it('reject input that is not a certificate', () => {
    expect(() => fingerprintOfPem('-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n')).toThrow(/not a PEM X.509 certificate/);
  });
});
