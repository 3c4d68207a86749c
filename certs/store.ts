/** The persistent CA: two roots (keys and certificates) kept in one owner-only directory. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { certificateAuthorityFromPem } from './ca.ts';
import { certificateFiles } from './file-names.ts';
import { ensurePrivateDir, privateFileMode, publicFileMode, readIfExists, writeFileAtomic, writeFileExclusive } from './files.ts';
import { createRoot, deviceCaCommonName, type RootPem } from './root.ts';
import type { CertificateAuthority, CertificateAuthorityOptions } from './types.ts';

/** How long a process that lost the race to create a root waits for the winner's certificate. */
const creationWaitMs = 2_000;
const pollMs = 50;

const rootIssuedDevicesNote =
  'Devices registered before device-ca.crt existed hold certificates issued by ca.crt, so listeners\n' +
  'keep trusting ca.crt for client certificates. Delete this file once every such device is\n' +
  're-registered: handshakes are then cheaper (certs/ca.ts).\n';

interface RootFiles {
  certPem: string | undefined;
  keyPem: string | undefined;
}

interface RootSlot {
  certFile: string;
  keyFile: string;
  commonName: string | undefined;
  /** Names the root in errors. */
  role: string;
  /** What replacing this root breaks, for the error about an incomplete one. */
  replacing: string;
}

async function readRoot(dir: string, slot: RootSlot): Promise<RootFiles> {
  const [certPem, keyPem] = await Promise.all([readIfExists(join(dir, slot.certFile)), readIfExists(join(dir, slot.keyFile))]);
  return { certPem, keyPem };
}

/** Load one root, or create it when neither of its files exists. An existing key is never replaced. */
async function loadOrCreateRoot(dir: string, slot: RootSlot): Promise<RootPem> {
  const certPath = join(dir, slot.certFile);
  const keyPath = join(dir, slot.keyFile);
  let files = await readRoot(dir, slot);
  if (files.keyPem === undefined && files.certPem === undefined) {
    const root = await createRoot(slot.commonName);
    // The key file is the commit point: whoever links it first owns the root, then adds its certificate.
    if (await writeFileExclusive(keyPath, root.keyPem, privateFileMode)) {
      await writeFileAtomic(certPath, root.certPem, publicFileMode);
      return root;
    }
    files = await readRoot(dir, slot);
  }
  // Another process may be between writing the key and the certificate: give it a moment.
  for (let waited = 0; files.certPem === undefined && files.keyPem !== undefined && waited < creationWaitMs; waited += pollMs) {
    await sleep(pollMs);
    files = await readRoot(dir, slot);
  }
  if (files.certPem === undefined || files.keyPem === undefined) {
    const [present, missing] = files.certPem === undefined ? [keyPath, certPath] : [certPath, keyPath];
    throw new Error(`incomplete ${slot.role} in ${dir}: ${missing} is missing. Restore it, or remove ${present} to create a new ${slot.role} (${slot.replacing})`);
  }
  return { certPem: files.certPem, keyPem: files.keyPem };
}

/**
 * Create the CA on first use in `dir` (keys 0600, certificates, directory 0700), load it
 * afterwards. Each root: ECDSA P-256, CA:true pathlen 0, keyCertSign + cRLSign, 10 years.
 * A new directory gets its device CA before its root, so a root without a device CA always means
 * a directory from before device CAs: it is marked (rootIssuedDevices) and its devices still
 * connect.
 */
export async function loadOrCreateCertificateAuthority(dir: string, options: CertificateAuthorityOptions = {}): Promise<CertificateAuthority> {
  await ensurePrivateDir(dir);
  const markerPath = join(dir, certificateFiles.rootIssuedDevices);
  const [rootKey, deviceCaKey] = await Promise.all([readIfExists(join(dir, certificateFiles.rootKey)), readIfExists(join(dir, certificateFiles.deviceCaKey))]);
  if (rootKey !== undefined && deviceCaKey === undefined) await writeFileAtomic(markerPath, rootIssuedDevicesNote, publicFileMode);

  const deviceCa = await loadOrCreateRoot(dir, {
    certFile: certificateFiles.deviceCaCert,
    keyFile: certificateFiles.deviceCaKey,
    commonName: deviceCaCommonName(options.commonName),
    role: 'device CA',
    replacing: 'device certificates issued by the old one will then be refused',
  });
  const root = await loadOrCreateRoot(dir, {
    certFile: certificateFiles.rootCert,
    keyFile: certificateFiles.rootKey,
    commonName: options.commonName,
    role: 'root CA',
    replacing: 'devices and clients must then be given the new ca.crt to trust the server',
  });
  const rootIssuedDevices = (await readIfExists(markerPath)) !== undefined;
  return certificateAuthorityFromPem({ root, deviceCa, rootIssuedDevices }, dir);
}
