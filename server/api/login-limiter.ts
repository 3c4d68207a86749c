/**
 * Slows down password guessing: after too many failed logins for one (client address, username)
 * pair, or from one address, further attempts are refused until the window has passed.
 */
export interface LoginLimiterOptions {
  maxFailuresPerUser: number;
  maxFailuresPerAddress: number;
  windowMs: number;
  now?: () => number;
}

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly options: LoginLimiterOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until another attempt is allowed, or 0 when it is allowed now. */
  retryAfterMs(address: string, username: string): number {
    const now = this.now();
    return Math.max(
      this.wait(`u:${address}:${username}`, this.options.maxFailuresPerUser, now),
      this.wait(`a:${address}`, this.options.maxFailuresPerAddress, now),
    );
  }

  recordFailure(address: string, username: string): void {
    const now = this.now();
    for (const key of [`u:${address}:${username}`, `a:${address}`]) {
      const recent = this.recent(key, now);
      recent.push(now);
      this.failures.set(key, recent);
    }
    if (this.failures.size > 100_000) this.prune(now); // bound memory under a spray of usernames
  }

  recordSuccess(address: string, username: string): void {
    this.failures.delete(`u:${address}:${username}`);
  }

  private wait(key: string, max: number, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < max) return 0;
    return recent[recent.length - max]! + this.options.windowMs - now;
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => now - at < this.options.windowMs);
  }

  private prune(now: number): void {
    for (const key of this.failures.keys()) if (this.recent(key, now).length === 0) this.failures.delete(key);
  }
}
