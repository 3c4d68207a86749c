/** User accounts: sign-up, login with expiring tokens, and token checks. */
import type { RegistryStore } from './registry/index.ts';
import { RegistryConflictError } from './registry/index.ts';
import { hashPassword, verifyPassword } from './registry/passwords.ts';
import { hashToken, newToken } from './registry/tokens.ts';
import { conflict } from './api/api-error.ts';

export interface AccountsOptions {
  tokenTtlMs: number;
  now?: () => Date;
}

export class Accounts {
  private readonly now: () => Date;
  /** Compared against when the user does not exist, so a login takes as long either way. */
  private readonly dummyHash: Promise<string>;

  constructor(private readonly store: RegistryStore, private readonly options: AccountsOptions) {
    this.now = options.now ?? (() => new Date());
    this.dummyHash = hashPassword('not-a-real-password');
  }

  async signup(username: string, password: string): Promise<{ id: string; username: string }> {
    const hash = await hashPassword(password);
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
    const user = await this.store.findUserByUsername(username);
    const valid = await verifyPassword(password, user?.passwordHash ?? (await this.dummyHash));
    if (!user || !valid) return undefined;
    const token = newToken();
    const expiresAt = new Date(this.now().getTime() + this.options.tokenTtlMs);
    await this.store.createSession(user.id, hashToken(token), expiresAt);
    return { token, expiresAt };
  }

  /** The user id a token belongs to, or undefined when it is unknown or expired. */
  async authenticate(token: string): Promise<string | undefined> {
    const session = await this.store.findSession(hashToken(token), this.now());
    return session?.userId;
  }

  async logout(token: string): Promise<void> {
    await this.store.deleteSession(hashToken(token));
  }
}
