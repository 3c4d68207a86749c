/**
 * What the CLI remembers between commands, in $IOTCLOUD_HOME/session.json (default ~/.iotcloud,
 * file mode 0600): the token from `iotcloud login`, and the server, CA and device broker URL the
 * user already named, so later commands need no flags.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `POST /api/v1/auth/login` answers. */
export interface Session {
  token: string;
  expiresAt: string;
}

/** A session as `iotcloud login` saves it: with the server it belongs to, and what else was named. */
export interface SavedSession extends Session {
  server: string;
  /** Absolute path of the CA file the login was made with. */
  ca?: string;
  username?: string;
  /** Where devices connect, as the server said at the last `iotcloud register`. */
  mqttUrl?: string;
}

export function iotcloudHome(): string {
  return process.env.IOTCLOUD_HOME ?? join(homedir(), '.iotcloud');
}

export function sessionPath(): string {
  return join(iotcloudHome(), 'session.json');
}

export async function saveSession(session: SavedSession): Promise<void> {
  const path = sessionPath();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
}

export async function loadSession(): Promise<SavedSession | undefined> {
  try {
    const session = JSON.parse(await readFile(sessionPath(), 'utf8')) as SavedSession;
    return typeof session.token === 'string' ? session : undefined;
  } catch {
    return undefined;
  }
}

/** Add to what is remembered (no-op without a saved login). */
export async function remember(patch: Partial<Pick<SavedSession, 'mqttUrl'>>): Promise<void> {
  const session = await loadSession();
  if (session) await saveSession({ ...session, ...patch });
}

/**
 * The bearer token to use: the flag, else IOTCLOUD_TOKEN, else the one `iotcloud login` saved,
 * which is only ever sent to the server it came from.
 */
export async function savedToken(flag?: string, server?: string): Promise<string | undefined> {
  if (flag ?? process.env.IOTCLOUD_TOKEN) return flag ?? process.env.IOTCLOUD_TOKEN;
  const saved = await loadSession();
  return saved && (server === undefined || saved.server === server) ? saved.token : undefined;
}
