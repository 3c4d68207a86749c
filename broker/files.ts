/** Small file helpers for the node's state folder: owner-only secrets, JSON state, pid checks. */
import { ensurePrivateDir, privateFileMode, readIfExists, writeFileAtomic } from '../certs/index.ts';

/** The state folder holds secrets (cookie, service password): owner-only, like the CA's. */
export const ensureDir = ensurePrivateDir;
export { readIfExists };

/** Write through a temporary file created with the final mode: a reader never sees half a file, nor a secret with loose permissions. */
export function writeAtomic(path: string, data: string, mode = privateFileMode): Promise<void> {
  return writeFileAtomic(path, data, mode);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  const text = await readIfExists(path);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/** True while a process with this pid exists (signal 0 checks without touching it). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readPid(path: string): Promise<number | undefined> {
  const text = await readIfExists(path);
  const pid = text === undefined ? NaN : Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
