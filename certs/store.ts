/** The persistent CA: a root key and certificate kept in one owner-only directory. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { certificateAuthorityFromPem } from './ca.ts';
import { ensurePrivateDir, privateFileMode, publicFileMode, readIfExists, writeFileAtomic, writeFileExclusive } from './files.ts';
import { createRoot } from './root.ts';
import type { CertificateAuthority, CertificateAuthorityOptions } from './types.ts';

/** File names inside a CA directory (brokers such as mosquitto or RabbitMQ can point at them). */
export const certificateFiles = {
  rootCert: 'ca.crt',
  rootKey: 'ca.key',
  serverCert: 'server.crt',
  serverKey: 'server.key',
} as const;

/** How long a process that lost the race to create the root waits for the winner's certificate. */
const creationWaitMs = 2_000;
const pollMs = 50;

interface RootFiles {
  certPem: string | undefined;
  keyPem: string | undefined;
}

async function readRoot(certPath: string, keyPath: string): Promise<RootFiles> {
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  return { certPem, keyPem };
}

/**
 * Create the CA on first use in `dir` (root key 0600, root certificate, directory 0700), load it
 * afterwards. Root: ECDSA P-256, CA:true pathlen 0, keyCertSign + cRLSign, 10 years.
 * An existing root key is never replaced: doing so would orphan every device certificate.
 */
export async function loadOrCreateCertificateAuthority(dir: string, options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
  await ensurePrivateDir(dir);
  const certPath = join(dir, certificateFiles.rootCert);
  const keyPath = join(dir, certificateFiles.rootKey);

  let files = await readRoot(certPath, keyPath);
  if (files.keyPem === undefined && files.certPem === undefined) {
    const root = await createRoot(options.commonName);
    // The key file is the commit point: whoever links it first owns the root, then adds its certificate.
    if (await writeFileExclusive(keyPath, root.keyPem, privateFileMode)) {
      await writeFileAtomic(certPath, root.certPem, publicFileMode);
      return certificateAuthorityFromPem(root.certPem, root.keyPem, dir);
    }
    files = await readRoot(certPath, keyPath);
  }
  // Another process may be between writing the key and the certificate: give it a moment.
  for (let waited = 0; files.certPem === undefined && files.keyPem !== undefined && waited < creationWaitMs; waited += pollMs) {
    await sleep(pollMs);
    files = await readRoot(certPath, keyPath);
  }
  if (files.certPem === undefined || files.keyPem === undefined) {
    const [present, missing] = files.certPem === undefined ? [keyPath, certPath] : [certPath, keyPath];
    throw new Error(
      `incomplete root CA in ${dir}: ${missing} is missing. Restore it, or remove ${present} to create a new root ` +
        '(device certificates issued by the old root will then be refused)',
    );
  }
  return certificateAuthorityFromPem(files.certPem, files.keyPem, dir);
}
