/**
 * Refusals are logged, but a client that repeats one must not be able to fill the disk or drown
 * the other lines: per fixed window, at most `perKey` lines per key (e.g. a device id or an
 * address) and `total` lines overall. What was held back is counted and reported on the next
 * line that is written, so the log still says how much happened.
 *
 * Memory is bounded too: at most `total` keys are tracked per window (a key beyond that could not
 * be logged anyway).
 */
export interface RateLimitedLogOptions {
  /** Window length; default 60 s. */
  windowMs?: number;
  /** Lines per key per window; default 5. */
  perKey?: number;
  /** Lines per window over all keys; default 100. */
  total?: number;
  /** Clock (tests pass a fake one). */
  now?: () => number;
}

export interface LogPermit {
  /** Write this line. */
  log: boolean;
  /** Lines held back since the last written line (set on written lines only). */
  suppressed: number;
}

export class RateLimitedLog {
  private readonly windowMs: number;
  private readonly perKey: number;
  private readonly total: number;
  private readonly now: () => number;
  private windowStart = Number.NEGATIVE_INFINITY;
  private readonly counts = new Map<string, number>();
  private written = 0;
  private suppressed = 0;

  constructor(options: RateLimitedLogOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.perKey = options.perKey ?? 5;
    this.total = options.total ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** May a line about `key` be written now? Counts it either way. */
  permit(key: string): LogPermit {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.counts.clear();
      this.written = 0;
    }
    const count = this.counts.get(key) ?? 0;
    if (count >= this.perKey || this.written >= this.total) {
      this.suppressed++;
      return { log: false, suppressed: 0 };
    }
    this.counts.set(key, count + 1);
    this.written++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return { log: true, suppressed };
  }
}
