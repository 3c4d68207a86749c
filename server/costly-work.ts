/**
 * A bound on CPU-heavy work a request can start: password hashing (scrypt) and RSA key
 * generation. Both run on libuv's thread pool; unbounded, 100 parallel sign-ups kept every pool
 * thread and both cores busy for seconds and the command path waited behind them. Here at most
 * `concurrency` jobs run (one leaves the other core to the event loop), at most `maxWaiting`
 * wait, and the rest are refused at once with 503 and Retry-After: busy, retry, rather than a
 * queue that grows with the flood.
 */
import { ApiError } from './api/api-error.ts';

export interface CostlyWorkOptions {
  concurrency: number;
  maxWaiting: number;
}

export class CostlyWork {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly options: CostlyWorkOptions = { concurrency: 1, maxWaiting: 16 }) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.options.concurrency) {
      if (this.waiting.length >= this.options.maxWaiting) {
        throw new ApiError(503, 'UNAVAILABLE', 'the server is busy hashing passwords or generating keys; retry in a second', undefined, { 'retry-after': '1' });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight on
      else this.running--;
    }
  }
}
