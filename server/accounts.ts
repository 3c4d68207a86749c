/** User accounts: sign-up, login with expiring tokens, and token checks. */
import type { RegistryStore } from './registry/index.ts';
import { RegistryConflictError } from './registry/index.ts';
import { hashPassword, verifyPassword } from './registry/passwords.ts';
import { hashToken, newToken } from './registry/tokens.ts';
import { conflict } from './api/api-error.ts';
import { TtlCache } from './ttl-cache.ts';
import { CostlyWork } from './costly-work.ts';

const SESSION_CACHE_MS = 5000;

export interface AccountsOptions {
  tokenTtlMs: number;
  /** Where password hashes run (bounded); shared with RSA key generation. */
  costly?: CostlyWork;
  now?: () => Date;
}

export class Accounts {
  private readonly now: () => Date;
  /** Compared against when the user does not exist, so a login takes as long either way. */
  private readonly dummyHash: Promise<string>;
  /** token hash -> user id and session expiry (never cached past the expiry). */
  private readonly sessions = new TtlCache<string, { userId: string; expiresAt: number }>(SESSION_CACHE_MS);
  private readonly costly: CostlyWork;

  constructor(private readonly store: RegistryStore, private readonly options: AccountsOptions) {
    this.now = options.now ?? (() => new Date());
    this.costly = options.costly ?? new CostlyWork();
    this.dummyHash = hashPassword('not-a-real-password');
    // A logout on another server sharing the registry ends the session here too, at once.
    void store.onChange((change) => {
      if (change.kind === 'session-ended') this.sessions.delete(change.tokenHash);
    }).catch(() => {}); // not listening: other servers' logouts are seen within the cache's 5 s
  }

  async signup(username: string, password: string): Promise<{ id: string; username: string }> {
    const hash = await this.costly.run(() => hashPassword(password));
    try {
      const user = await this.store.createUser(username, hash);
      return { id: user.id, username: user.username };
    } catch (error) {
      if (error instanceof RegistryConflictError) throw conflict(`username ${JSON.stringify(username)} is taken; choose another`, '/username');
      throw error;
    }
  }

  /** A token and its expiry, or undefined when the username or password is wrong. */
  async login(username: string, password: string): Promise<{ token: string; expiresAt: Date } | undefined> {
    // The user lookup runs inside the bound too: a refused login must cost no query (PGlite
    // runs on the event loop; 200 parallel lookups stalled commands for seconds).
    const dummy = await this.dummyHash;
    const user = await this.costly.run(async () => {
      const found = await this.store.findUserByUsername(username);
      return (await verifyPassword(password, found?.passwordHash ?? dummy)) ? found : undefined;
    });
    if (!user) return undefined;
    const token = newToken();
    const expiresAt = new Date(this.now().getTime() + this.options.tokenTtlMs);
    await this.store.createSession(user.id, hashToken(token), expiresAt);
    return { token, expiresAt };
  }

  /** A fresh session for a user the server acts for (a conformance run started from the console). */
  async issueSession(userId: string, ttlMs: number): Promise<{ token: string; expiresAt: Date }> {
    const token = newToken();
    const expiresAt = new Date(this.now().getTime() + ttlMs);
    await this.store.createSession(userId, hashToken(token), expiresAt);
    return { token, expiresAt };
  }

  /** The user id a token belongs to, or undefined when it is unknown or expired. */
  async authenticate(token: string): Promise<string | undefined> {
    const tokenHash = hashToken(token);
    const now = this.now().getTime();
    const cached = this.sessions.get(tokenHash);
    if (cached) return cached.expiresAt > now ? cached.userId : undefined;
    const session = await this.store.findSession(tokenHash, this.now());
    if (!session) return undefined;
    const expiresAt = session.expiresAt.getTime();
    this.sessions.set(tokenHash, { userId: session.userId, expiresAt }, Math.min(SESSION_CACHE_MS, expiresAt - now));
    return session.userId;
  }

  /** Deletes expired sessions (the server runs this at start and every few minutes); returns how many. */
  sweepExpiredSessions(): Promise<number> {
    return this.store.deleteExpiredSessions(this.now());
  }

  /** The user id when `token` is a live session of the user named `username` (the original API sends both). */
  async authenticateAs(username: string, token: string): Promise<string | undefined> {
    const userId = await this.authenticate(token);
    if (!userId) return undefined;
    const user = await this.store.findUserByUsername(username);
    return user?.id === userId ? userId : undefined;
  }

  async logout(token: string): Promise<void> {
    const tokenHash = hashToken(token);
    this.sessions.delete(tokenHash);
    await this.store.deleteSession(tokenHash);
  }
}
