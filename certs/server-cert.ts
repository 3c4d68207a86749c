/** The server's own TLS material, kept next to the root and reissued only when it must be. */
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { publicKeyOfPrivateKey } from './crypto.ts';
import { ensurePrivateDir, privateFileMode, publicFileMode, readIfExists, writeFileAtomic } from './files.ts';
import { certificateFiles } from './file-names.ts';
import type { CertificateAuthority } from './types.ts';
import { canonicalHost, canonicalHosts, type Host } from './validate.ts';

/** Renew this long before expiry, so a server restarted now and then never serves an expired certificate. */
const renewBeforeMs = 30 * 24 * 60 * 60 * 1000;

export interface ServerTlsMaterial {
  certPem: string;
  keyPem: string;
}

/** What loading did: reused the stored certificate, created the first one, or reissued it (hosts changed, near expiry, other CA). */
export type ServerCertificateStatus = 'reused' | 'created' | 'reissued';

export interface LoadedServerCertificate extends ServerTlsMaterial {
  status: ServerCertificateStatus;
  /** The names and addresses it is valid for, canonical. */
  hosts: string[];
}

function hostSetKey(hosts: readonly Host[]): string {
  return hosts.map(({ kind, value }) => `${kind}:${value}`).sort().join(' ');
}

function hostsOf(certificate: x509.X509Certificate): Host[] {
  const names = certificate.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return names.filter((name) => name.type === 'dns' || name.type === 'ip').map((name) => canonicalHost(name.value));
}

/** True when the stored material is signed by `ca`, matches its key, covers `hosts` exactly and is not near expiry. */
async function isReusable(ca: CertificateAuthority, stored: ServerTlsMaterial, hosts: readonly Host[]): Promise<boolean> {
  try {
    const certificate = new x509.X509Certificate(stored.certPem);
    const root = new x509.X509Certificate(ca.rootCertPem);
    return (
      certificate.notAfter.getTime() - Date.now() > renewBeforeMs &&
      hostSetKey(hostsOf(certificate)) === hostSetKey(hosts) &&
      publicKeyOfPrivateKey(stored.keyPem)?.equals(Buffer.from(certificate.publicKey.rawData)) === true &&
      certificate.issuer === root.subject &&
      (await certificate.verify({ publicKey: root.publicKey, signatureOnly: true }))
    );
  } catch {
    return false; // unreadable material is reissued, not repaired
  }
}

/**
 * Load-or-create the server TLS material in `dir`: server.crt and server.key (key 0600). It is
 * reissued when the host list changes, when it expires within 30 days, or when it was not issued
 * by `ca` (for example after the root was replaced).
 */
export async function loadOrCreateServerCertificate(ca: CertificateAuthority, dir: string, hosts: string[]): Promise<LoadedServerCertificate> {
  const wanted = canonicalHosts(hosts);
  await ensurePrivateDir(dir);
  const certPath = join(dir, certificateFiles.serverCert);
  const keyPath = join(dir, certificateFiles.serverKey);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined && (await isReusable(ca, { certPem, keyPem }, wanted))) {
    return { certPem, keyPem, status: 'reused', hosts: hostsOf(new x509.X509Certificate(certPem)).map(({ value }) => value) };
  }
  const issued = await ca.issueServerCertificate(hosts);
  await writeFileAtomic(keyPath, issued.keyPem, privateFileMode);
  await writeFileAtomic(certPath, issued.certPem, publicFileMode);
  return { certPem: issued.certPem, keyPem: issued.keyPem, status: certPem === undefined ? 'created' : 'reissued', hosts: wanted.map(({ value }) => value) };
}
