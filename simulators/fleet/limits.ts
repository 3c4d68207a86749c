/**
 * The open-file limit: every connected device is a socket, so a fleet (and the server it talks
 * to) needs a limit above its size. Linux only (read from /proc); undefined elsewhere.
 */
import { readFile } from 'node:fs/promises';

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

/** Files a process needs besides its devices' sockets (modules, logs, the event loop). */
export const OPEN_FILE_HEADROOM = 256;

export async function openFileLimit(pid: number | 'self' = 'self'): Promise<OpenFileLimit | undefined> {
  try {
    const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(await readFile(`/proc/${pid}/limits`, 'utf8'));
    if (!match) return undefined;
    const value = (text: string) => (text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text));
    return { soft: value(match[1]!), hard: value(match[2]!) };
  } catch {
    return undefined;
  }
}

/** A warning when `devices` sockets would not fit under the limit, or undefined. */
export function openFileWarning(limit: OpenFileLimit | undefined, devices: number, who = 'this process'): string | undefined {
  if (!limit || limit.soft >= devices + OPEN_FILE_HEADROOM) return undefined;
  return `${who} may open ${limit.soft} files (hard limit ${limit.hard}), too few for ${devices} devices: raise it with \`ulimit -n ${devices + OPEN_FILE_HEADROOM}\` (the server needs the same)`;
}
