/** File I/O for key material: private directory, atomic writes, owner-only modes. */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';

export const privateDirMode = 0o700;
export const privateFileMode = 0o600;
export const publicFileMode = 0o644;

/** Creates `dir` if needed and restricts it to its owner: it holds private keys. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: privateDirMode });
  await chmod(dir, privateDirMode);
}

/** Contents of `path`, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A temporary sibling of `path`, written with its final mode so it is never readable by others. */
async function writeTemporary(path: string, data: string, mode: number): Promise<string> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, data, { mode, flag: 'wx' });
  await chmod(temporary, mode); // the umask may have narrowed the mode asked for
  return temporary;
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export async function writeFileAtomic(path: string, data: string, mode: number): Promise<void> {
  const temporary = await writeTemporary(path, data, mode);
  try {
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Like writeFileAtomic, but only when `path` does not exist yet (link() refuses to replace a
 * file). Returns false when another writer got there first; their file is left untouched.
 */
export async function writeFileExclusive(path: string, data: string, mode: number): Promise<boolean> {
  const temporary = await writeTemporary(path, data, mode);
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}
