import { describe, expect, it } from 'vitest';
import { ANSWER_SHOWN_CHARS, decodeResponse, PendingRequests, type Clock } from '../../firmware-protocol/index.ts';

/** A clock the test advances by hand: timeouts fire exactly when the test says. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  return {
    now: () => now,
    setTimeout: (fn, ms) => { timers.set(next, { at: now + ms, fn }); return next++; },
    clearTimeout: (handle) => { timers.delete(handle as number); },
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers]) if (timer.at <= now) { timers.delete(id); timer.fn(); }
    },
  };
}

describe('PendingRequests', () => {
  it('settles by cid, out of order', async () => {
    const pending = new PendingRequests(manualClock());
    const a = pending.open('d1', 'get_rtc', 1000);
    const b = pending.open('d1', 'get_rtc', 1000);
    expect(pending.settle({ deviceId: 'd1', command: 'get_rtc', cid: b.cid, ok: true, result: { value: 2 } })).toBe(true);
    expect(pending.settle({ deviceId: 'd1', command: 'get_rtc', cid: a.cid, ok: true, result: { value: 1 } })).toBe(true);
    expect(await a.outcome).toMatchObject({ status: 'ok', result: { value: 1 } });
    expect(await b.outcome).toMatchObject({ status: 'ok', result: { value: 2 } });
    expect(pending.size).toBe(0);
  });

  it('an answer that fails the spec settles its request at once as invalid, with the reason and the answer (bounded)', async () => {
    const clock = manualClock();
    const pending = new PendingRequests(clock);
    const mac = pending.open('d1', 'get_mac', 60_000);
    const ip = pending.open('d1', 'get_ip', 60_000);
    const decoded = decodeResponse('server/d1/get_mac', '{"value":""}');
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(pending.settleInvalid(decoded.error, 'server/d1/get_mac', '{"value":""}')).toBe(true);
    const outcome = await mac.outcome;
    expect(outcome).toMatchObject({ status: 'invalid-answer', cid: mac.cid, answer: { topic: 'server/d1/get_mac', payload: '{"value":""}' } });
    expect(outcome.status === 'invalid-answer' && outcome.problem).toMatch(/invalid get_mac response: \/value/);
    expect(pending.size).toBe(1); // get_ip still waits

    const long = `{"value":"${'x'.repeat(2000)}"}`;
    const bad = decodeResponse('server/d1/get_ip', long);
    if (bad.ok) throw new Error('expected a refusal');
    pending.settleInvalid(bad.error, 'server/d1/get_ip', long);
    const cut = await ip.outcome;
    expect(cut.status === 'invalid-answer' && cut.answer.payload.length).toBeLessThan(ANSWER_SHOWN_CHARS + 40);
    // Nothing in flight for it, or an unreadable topic: nothing is settled.
    const unasked = decodeResponse('server/d1/get_mac', '{"value":""}');
    if (!unasked.ok) expect(pending.settleInvalid(unasked.error, 'server/d1/get_mac', '{}')).toBe(false);
  });

  it('an answer without cid settles the oldest request of that device and command', async () => {
    const pending = new PendingRequests(manualClock());
    const first = pending.open('d1', 'get_gpio', 1000);
    const other = pending.open('d1', 'get_mac', 1000);
    const second = pending.open('d1', 'get_gpio', 1000);
    pending.settle({ deviceId: 'd1', command: 'get_gpio', ok: true, result: { number: 1, value: 0 } });
    expect(await first.outcome).toMatchObject({ status: 'ok', cid: first.cid });
    expect(pending.size).toBe(2);
    pending.failAll('broker gone');
    expect(await second.outcome).toMatchObject({ status: 'unavailable', message: 'broker gone' });
    expect(await other.outcome).toMatchObject({ status: 'unavailable' });
  });

  it('times out at the deadline and counts a late answer as unmatched', async () => {
    const clock = manualClock();
    const pending = new PendingRequests(clock);
    const request = pending.open('d1', 'get_rtc', 500);
    clock.advance(499);
    expect(pending.size).toBe(1);
    clock.advance(1);
    expect(await request.outcome).toMatchObject({ status: 'timeout', timeoutMs: 500, elapsedMs: 500 });
    expect(pending.settle({ deviceId: 'd1', command: 'get_rtc', cid: request.cid, ok: true, result: { value: 1 } })).toBe(false);
    expect(pending.unmatched).toBe(1);
  });

  it('an answer from another device with a guessed cid settles nothing', () => {
    const pending = new PendingRequests(manualClock());
    const request = pending.open('d1', 'get_rtc', 500);
    expect(pending.settle({ deviceId: 'd2', command: 'get_rtc', cid: request.cid, ok: true, result: { value: 1 } })).toBe(false);
    expect(pending.size).toBe(1);
  });

  it('device errors resolve with the error body', async () => {
    const pending = new PendingRequests(manualClock());
    const request = pending.open('d1', 'set_gpio', 500);
    pending.settle({ deviceId: 'd1', command: 'set_gpio', cid: request.cid, ok: false, error: { code: 3, message: 'busy' } });
    expect(await request.outcome).toMatchObject({ status: 'device-error', error: { code: 3 } });
  });
});
