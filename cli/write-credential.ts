/**
 * Writes a file `iotcloud register --out` produces without following a symbolic link planted at
 * its path (O_NOFOLLOW): someone who can write the folder could otherwise point `<id>_pkey.pem`
 * at a file of their choosing and have the private key written there, or a file of the user's
 * overwritten. A private key is only ever written to a new file (O_EXCL, mode 0600).
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';

const { O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW } = constants;

export async function writeCredentialFile(path: string, data: string, kind: 'public' | 'private'): Promise<void> {
  const flags = O_WRONLY | O_CREAT | O_NOFOLLOW | (kind === 'private' ? O_EXCL : O_TRUNC);
  let file;
  try {
    file = await open(path, flags, kind === 'private' ? 0o600 : 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const link = code === 'ELOOP' || (code === 'EEXIST' && (await lstat(path)).isSymbolicLink());
    if (link) throw new Error(`${path} is a symbolic link; refusing to write through it (remove it, or choose another --out folder)`);
    if (code === 'EEXIST') throw new Error(`${path} already exists; a private key is only written to a new file (remove it, or choose another --out folder)`);
    throw error;
  }
  try {
    await file.writeFile(data);
  } finally {
    await file.close();
  }
}
