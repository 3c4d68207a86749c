/**
 * Slows down password guessing. Budgets per window: failures per (address, username) and per
 * address. An attempt counts from the moment it starts, not once its password check (tens of
 * milliseconds of scrypt) has failed: otherwise 200 parallel guesses all pass the gate before
 * the first one is counted. A success takes its own attempt back.
 *
 * An address over its budget is slowed, not shut: a username that has logged in from it before
 * still gets its own budget there, and anyone else gets one attempt a second. So one flooder
 * behind a shared address (a NAT, an office) does not lock the others out.
 */
export interface LoginLimiterOptions {
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  windowMs: number;
  /** How often an address over its budget may still try a username not yet proven there. */
  overBudgetIntervalMs?: number;
  /** How long a successful (address, username) pair is remembered. */
  knownGoodMs?: number;
  now?: () => number;
}

export interface LoginAttempt {
  succeeded(): void;
  failed(): void;
  /** The password was never checked (the server was busy): the attempt is taken back. */
  abandoned(): void;
}

const MAX_KEYS = 100_000;

export class LoginLimiter {
  private readonly attempts = new Map<string, number[]>();
  private readonly knownGood = new Map<string, number>();
  private readonly lastOverBudget = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: LoginLimiterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts an attempt, or says how many milliseconds to wait before one is allowed. */
  start(address: string, username: string): LoginAttempt | { retryAfterMs: number } {
    const now = this.now();
    const pair = `${address}\n${username}`;
    const userKey = `u:${pair}`;
    const addressKey = `a:${address}`;
    const userWait = this.wait(userKey, this.options.maxFailuresPerUser, now);
    if (userWait > 0) return { retryAfterMs: userWait };
    const addressWait = this.wait(addressKey, this.options.maxFailuresPerAddress, now);
    if (addressWait > 0 && !this.isKnownGood(pair, now)) {
      const interval = this.options.overBudgetIntervalMs ?? 1000;
      const last = this.lastOverBudget.get(address) ?? -Infinity;
      if (now - last < interval) return { retryAfterMs: Math.min(addressWait, last + interval - now) };
      this.bounded(this.lastOverBudget).set(address, now);
    }
    this.record(userKey, now);
    this.record(addressKey, now);
    const takeBack = () => {
      this.remove(userKey, now);
      this.remove(addressKey, now);
    };
    return {
      succeeded: () => {
        takeBack();
        this.attempts.delete(userKey);
        this.knownGood.delete(pair);
        this.bounded(this.knownGood).set(pair, now + (this.options.knownGoodMs ?? 30 * 24 * 3600_000));
      },
      failed: () => {},
      abandoned: takeBack,
    };
  }

  private isKnownGood(pair: string, now: number): boolean {
    return (this.knownGood.get(pair) ?? 0) > now;
  }

  private wait(key: string, max: number, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < max) return 0;
    return Math.max(1, recent[recent.length - max]! + this.options.windowMs - now);
  }

  private record(key: string, now: number): void {
    const recent = this.recent(key, now);
    recent.push(now);
    this.attempts.set(key, recent);
    if (this.attempts.size > MAX_KEYS) this.prune(now); // bound memory under a spray of usernames
  }

  private remove(key: string, at: number): void {
    const list = this.attempts.get(key);
    const index = list?.indexOf(at) ?? -1;
    if (index >= 0) list!.splice(index, 1);
  }

  private recent(key: string, now: number): number[] {
    return (this.attempts.get(key) ?? []).filter((at) => now - at < this.options.windowMs);
  }

  private prune(now: number): void {
    for (const key of this.attempts.keys()) if (this.recent(key, now).length === 0) this.attempts.delete(key);
  }

  private bounded<V>(map: Map<string, V>): Map<string, V> {
    if (map.size >= MAX_KEYS) map.delete(map.keys().next().value!);
    return map;
  }
}
