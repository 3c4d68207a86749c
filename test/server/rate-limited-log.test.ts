/** The refusal log limiter (server/rate-limited-log.ts), on a fake clock. */
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { rateLimitedLog } from '../../server/rate-limited-log.ts';

function setup(options: { perWindow?: number; maxKeys?: number } = {}) {
  let now = 1_000;
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const record = (fields: Record<string, unknown>, message: string) => void lines.push({ fields, message });
  const logger = { warn: record, info: record, error: record } as unknown as Logger;
  const log = rateLimitedLog(logger, { windowMs: 60_000, now: () => now, ...options });
  return { log, lines, advance: (ms: number) => void (now += ms) };
}

describe('rateLimitedLog', () => {
  it('writes perWindow lines per key per window, then holds back the rest', () => {
    const { log, lines } = setup({ perWindow: 3 });
    for (let i = 0; i < 10; i++) log('warn', 'a', { i }, 'refused');
    for (let i = 0; i < 10; i++) log('warn', 'b', { i }, 'refused'); // another key has its own allowance
    expect(lines.map((line) => line.fields.i)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(lines[2]!.message).toMatch(/further lines for a are suppressed for 60 s/);
  });

  it('starts over in the next window and says how many lines were held back', () => {
    const { log, lines, advance } = setup({ perWindow: 2 });
    for (let i = 0; i < 7; i++) log('warn', 'a', {}, 'refused'); // 2 written, 5 held back
    advance(59_999);
    log('warn', 'a', {}, 'refused'); // same window: 6 held back
    expect(lines).toHaveLength(2);
    advance(1);
    log('warn', 'a', {}, 'refused');
    expect(lines[2]).toMatchObject({ fields: { key: 'a', suppressed: 6 } });
    expect(lines[3]!.message).toBe('refused');
  });

  it('forgets the oldest keys beyond maxKeys (memory stays bounded under invented names)', () => {
    const { log, lines } = setup({ perWindow: 1, maxKeys: 2 });
    log('warn', 'a', {}, 'x');
    log('warn', 'b', {}, 'x');
    log('warn', 'c', {}, 'x'); // 'a' forgotten
    log('warn', 'a', {}, 'x'); // so 'a' logs again
    log('warn', 'c', {}, 'x'); // 'c' still known: held back
    expect(lines).toHaveLength(4);
  });
});
