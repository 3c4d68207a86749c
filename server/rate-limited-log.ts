/**
 * Refusal logging that a client cannot turn into a disk flood: at most `perWindow` lines per key
 * (a device id, an address) per window; the rest are counted and reported in one line when the
 * key next logs after the window. The key table is bounded too (oldest keys are forgotten first).
 */
import type { Logger } from 'pino';

export interface RateLimitedLogOptions {
  perWindow?: number;
  windowMs?: number;
  maxKeys?: number;
  now?: () => number;
}

export type RateLimitedLog = (level: 'warn' | 'info' | 'error', key: string, fields: Record<string, unknown>, message: string) => void;

export function rateLimitedLog(logger: Logger, options: RateLimitedLogOptions = {}): RateLimitedLog {
  const perWindow = options.perWindow ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? Date.now;
  const windows = new Map<string, { startedAt: number; logged: number; suppressed: number }>();

  return (level, key, fields, message) => {
    const at = now();
    let window = windows.get(key);
    if (window && at - window.startedAt >= windowMs) {
      if (window.suppressed > 0) logger[level]({ key, suppressed: window.suppressed }, `${window.suppressed} more like the next line were not logged (rate limit)`);
      windows.delete(key);
      window = undefined;
    }
    if (!window) {
      if (windows.size >= maxKeys) windows.delete(windows.keys().next().value!);
      window = { startedAt: at, logged: 0, suppressed: 0 };
      windows.set(key, window);
    }
    if (window.logged < perWindow) {
      window.logged++;
      logger[level](fields, window.logged === perWindow ? `${message} (further lines for ${key} are suppressed for ${Math.round(windowMs / 1000)} s)` : message);
    } else {
      window.suppressed++;
    }
  };
}
