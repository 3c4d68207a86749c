/** The refusal log limiter, on a fake clock. */
import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from '../../server/rate-limited-log.ts';

function limiter(options: { perKey?: number; total?: number } = {}) {
  let now = 1_000;
  const log = new RateLimitedLog({ windowMs: 60_000, now: () => now, ...options });
  return { log, advance: (ms: number) => void (now += ms) };
}

const written = (log: RateLimitedLog, key: string, times: number) => Array.from({ length: times }, () => log.permit(key)).filter((p) => p.log).length;

describe('RateLimitedLog', () => {
  it('writes perKey lines per key per window, then holds back the rest', () => {
    const { log } = limiter({ perKey: 3 });
    expect(written(log, 'a', 10)).toBe(3);
    expect(written(log, 'b', 10)).toBe(3); // another key has its own allowance
  });

  it('caps all keys together at total per window (many names from one attacker)', () => {
    const { log } = limiter({ perKey: 5, total: 20 });
    let lines = 0;
    for (let i = 0; i < 1000; i++) if (log.permit(`name-${i}`).log) lines++;
    expect(lines).toBe(20);
  });

  it('starts over in the next window and reports how many lines were held back', () => {
    const { log, advance } = limiter({ perKey: 2 });
    written(log, 'a', 7); // 2 written, 5 held back
    advance(59_999);
    expect(log.permit('a').log).toBe(false); // still the same window: 6 held back
    advance(1);
    expect(log.permit('a')).toEqual({ log: true, suppressed: 6 });
    expect(log.permit('a')).toEqual({ log: true, suppressed: 0 });
  });
});
