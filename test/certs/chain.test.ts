/** The explicit certificate chain a TLS server presents (certs/chain.ts), over real TLS. */
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEphemeralCertificateAuthority, presentedChainPem, type CertificateAuthority, type IssuedCertificate } from '../../certs/index.ts';

const blocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];

let ca: CertificateAuthority;
let serverCert: IssuedCertificate;
beforeAll(async () => {
  ca = await createEphemeralCertificateAuthority();
  serverCert = await ca.issueServerCertificate(['127.0.0.1']);
});

describe('presentedChainPem', () => {
  it('puts the issuer after a lone leaf', () => {
    const [leaf, issuer, ...rest] = blocks(presentedChainPem(serverCert.certPem, ca.rootCertPem)).map((pem) => new X509Certificate(pem));
    expect(rest).toEqual([]);
    expect(leaf!.fingerprint256).toBe(new X509Certificate(serverCert.certPem).fingerprint256);
    expect(issuer!.fingerprint256).toBe(new X509Certificate(ca.rootCertPem).fingerprint256);
    expect(leaf!.checkIssued(issuer!)).toBe(true);
  });

  it('leaves a PEM that already holds a chain as it is', () => {
    const chain = presentedChainPem(serverCert.certPem, ca.rootCertPem);
    expect(presentedChainPem(chain, ca.rootCertPem)).toBe(chain);
  });

  it('is what a mutual-TLS server presents, and a device trusting the root accepts it', async () => {
    const device = await ca.issueDeviceCertificate('chain-device');
    const server = tls.createServer(
      { ca: ca.rootCertPem, cert: presentedChainPem(serverCert.certPem, ca.rootCertPem), key: serverCert.keyPem, requestCert: true, rejectUnauthorized: true },
      (socket) => socket.end(),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const socket = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: ca.rootCertPem, cert: device.certPem, key: device.keyPem });
      await once(socket, 'secureConnect');
      const presented = socket.getPeerCertificate(true);
      expect(socket.authorized).toBe(true);
      expect(presented.fingerprint256).toBe(new X509Certificate(serverCert.certPem).fingerprint256);
      expect(presented.issuerCertificate.fingerprint256).toBe(new X509Certificate(ca.rootCertPem).fingerprint256);
      socket.destroy();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
