/** Where `iotcloud login` keeps the token for later client commands (file mode 0600). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `POST /api/v1/auth/login` answers. */
export interface Session {
  token: string;
  expiresAt: string;
}

/** A session as `iotcloud login` saves it: with the server it belongs to. */
export interface SavedSession extends Session {
  server: string;
}

export function sessionPath(): string {
  return join(process.env.IOTCLOUD_HOME ?? join(homedir(), '.iotcloud'), 'session.json');
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

/** The bearer token to use: the flag, else IOTCLOUD_TOKEN, else the one `iotcloud login` saved. */
export async function savedToken(flag?: string): Promise<string | undefined> {
  return flag ?? process.env.IOTCLOUD_TOKEN ?? (await loadSession())?.token;
}
