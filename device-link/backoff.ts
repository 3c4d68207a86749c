/**
 * Exponential back-off with "equal jitter", the one implementation every reconnecting part uses
 * (devices, the bridge's serial port, the fleet's first connections, the server's broker link):
 * half the step is fixed, half random, so a fleet that lost its broker at once does not come
 * back in lockstep, yet no retry is immediate.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2 };

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(options: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const step = Math.min(options.maxMs, options.initialMs * options.factor ** attempt);
  return step / 2 + (step / 2) * random();
}

/** Counts the attempts itself: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = defaultBackoff,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    return backoffDelay(this.options, this.attempt++, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
