/** Where `iotcloud login` keeps the token for later client commands (file mode 0600). */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface SavedSession {
  server: string;
  token: string;
  expiresAt: string;
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
