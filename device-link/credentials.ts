/** A device's identity: the PEM texts from registration, and the files they are saved in. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** PEM texts from device registration: the platform root CA, the device certificate and key. */
export interface Credentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Paths to the PEM files from device registration. */
export interface CredentialFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The files `iotcloud register --out DIR` writes, unless given one by one. */
export function credentialFilesIn(dir: string, deviceId: string, given: { ca?: string; cert?: string; key?: string } = {}): CredentialFiles {
  return {
    caFile: given.ca ?? join(dir, 'rootca.pem'),
    certFile: given.cert ?? join(dir, `${deviceId}_cert.pem`),
    keyFile: given.key ?? join(dir, `${deviceId}_pkey.pem`),
  };
}

export async function loadCredentials(files: CredentialFiles): Promise<Credentials> {
  const read = async (what: string, path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
    }
  };
  // One after the other, so a missing folder always reports the same (first) file.
  const caPem = await read('CA certificate', files.caFile);
  const certPem = await read('device certificate', files.certFile);
  const keyPem = await read('device key', files.keyFile);
  return { caPem, certPem, keyPem };
}
