/** Shared test helpers for the certs module: temp directories, OpenSSL verification, parsing. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { afterAll } from 'vitest';

const run = promisify(execFile);

const created: string[] = [];
// Registered while the importing test file is collected, so it runs when that file ends.
afterAll(async () => {
  await Promise.all(created.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh directory under the OS temp dir, removed when the test file ends. */
export async function tempDir(prefix = 'iotcloud-certs-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export interface OpensslResult {
  ok: boolean;
  output: string;
}

/** `openssl verify -x509_strict -purpose <purpose>` of `certPem` against `rootPem` only. */
export async function opensslVerify(rootPem: string, certPem: string, purpose: 'sslclient' | 'sslserver'): Promise<OpensslResult> {
  const dir = await tempDir('iotcloud-openssl-');
  await writeFile(join(dir, 'root.pem'), rootPem);
  await writeFile(join(dir, 'leaf.pem'), certPem);
  try {
    const { stdout, stderr } = await run('openssl', ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', 'root.pem', 'leaf.pem'], { cwd: dir });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    return { ok: false, output: stdout + stderr };
  }
}

/** The chain @peculiar/x509 builds for `certPem` given only `rootPem` as a candidate issuer (it verifies signatures). */
export async function buildChain(rootPem: string, certPem: string): Promise<x509.X509Certificate[]> {
  const builder = new x509.X509ChainBuilder({ certificates: [new x509.X509Certificate(rootPem)] });
  return [...(await builder.build(new x509.X509Certificate(certPem)))];
}
