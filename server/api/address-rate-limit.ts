/**
 * Per-address token buckets for requests that cost the server something lasting or expensive
 * (sign-ups, RSA registrations): a burst, then a steady rate. The table is bounded; when it is
 * full the oldest addresses are forgotten (they start again with a full bucket).
 */
import { ApiError } from './api-error.ts';

export interface AddressRateLimitOptions {
  burst: number;
  perMinute: number;
  maxAddresses?: number;
  now?: () => number;
}

export class AddressRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(
    private readonly what: string,
    private readonly options: AddressRateLimitOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Takes one token for `address`, or throws 429 saying when to retry. */
  take(address: string): void {
    const now = this.now();
    const rate = this.options.perMinute / 60_000;
    const bucket = this.buckets.get(address) ?? { tokens: this.options.burst, at: now };
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.delete(address);
    if (this.buckets.size >= (this.options.maxAddresses ?? 100_000)) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(address, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const seconds = Math.ceil((1 - bucket.tokens) / rate / 1000);
    throw new ApiError(429, 'TOO_MANY_REQUESTS', `too many ${this.what} from your address (${this.options.perMinute} a minute); try again in ${seconds} s`, undefined, {
      'retry-after': String(seconds),
    });
  }
}
