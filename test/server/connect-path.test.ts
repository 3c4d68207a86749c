import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../server/batcher.ts';
import { batchedDeviceAuthority, presenceRecorder } from '../../server/connect-path.ts';
import type { PresenceUpdate } from '../../server/registry/types.ts';

/** A promise and its resolver, to hold a batch in flight for as long as a test wants. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Batcher', () => {
  it('runs the first item at once and everything that arrives meanwhile as one next batch', async () => {
    const batches: number[][] = [];
    const first = gate();
    const batcher = new Batcher<number, number>(async (items) => {
      batches.push([...items]);
      if (batches.length === 1) await first.promise;
      return items.map((n) => n * 10);
    });
    const results = [batcher.add(1), batcher.add(2), batcher.add(3), batcher.add(4)];
    await Promise.resolve();
    expect(batches).toEqual([[1]]); // 2..4 wait for the round trip in flight
    first.open();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('splits at the batch limit, fails only the batch that failed, and keeps serving after it', async () => {
    const batches: string[][] = [];
    const batcher = new Batcher<string, string>(async (items) => {
      batches.push([...items]);
      if (items.includes('bad')) throw new Error('database went away');
      return items.map((s) => s.toUpperCase());
    }, { maxBatch: 2 });
    const a = batcher.add('a');
    const rest = [batcher.add('bad'), batcher.add('c'), batcher.add('d'), batcher.add('e')];
    expect(await a).toBe('A');
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['database went away', 'database went away', 'D', 'E']);
    expect(batches).toEqual([['a'], ['bad', 'c'], ['d', 'e']]);
    expect(await batcher.add('f')).toBe('F');
  });

  it('refuses a batch answer of the wrong length instead of resolving items with the wrong values', async () => {
    const batcher = new Batcher<number, number>(async () => [1]);
    const results = await Promise.allSettled([batcher.add(1), batcher.add(2), batcher.add(3)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(results.slice(1).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('lingers for company only while work keeps coming, so a lone item never waits', async () => {
    const batches: string[][] = [];
    const batcher = new Batcher<string, string>(
      async (items) => {
        batches.push([...items]);
        return [...items];
      },
      { lingerMs: 400, lingerOnlyWhenBusy: true },
    );
    const started = performance.now();
    await batcher.add('lone'); // quiet until now: runs at once
    expect(performance.now() - started).toBeLessThan(400); // would be >= 400 had it lingered
    const spaced = [batcher.add('b')];
    await new Promise((resolve) => setImmediate(resolve)); // a separate turn of the event loop
    spaced.push(batcher.add('c'));
    await Promise.all(spaced);
    expect(batches).toEqual([['lone'], ['b', 'c']]); // busy: 'b' waited for 'c'
  });

  it('drain waits for every item added so far', async () => {
    const done: number[] = [];
    const batcher = new Batcher<number, void>(async (items) => {
      await new Promise((resolve) => setImmediate(resolve));
      done.push(...items);
      return items.map(() => undefined);
    });
    void batcher.add(1);
    void batcher.add(2);
    await batcher.drain();
    expect(done).toEqual([1, 2]);
    await batcher.drain(); // idle: resolves at once
  });
});

describe('the connect path', () => {
  it('checks concurrent CONNECTs with one fingerprint query per batch, each against its own device', async () => {
    const queries: string[][] = [];
    const authority = batchedDeviceAuthority({
      async activeFingerprints(ids) {
        queries.push([...ids]);
        return new Map([['lamp', 'fp-lamp'], ['fan', 'fp-fan']]);
      },
    });
    const answers = await Promise.all([
      authority.isDeviceActive('lamp', 'fp-lamp'),
      authority.isDeviceActive('fan', 'fp-lamp'), // another device's certificate
      authority.isDeviceActive('gone', 'fp-gone'),
      authority.isDeviceActive('fan', 'fp-fan'),
    ]);
    expect(answers).toEqual([true, false, false, true]);
    expect(queries).toEqual([['lamp'], ['fan', 'gone']]); // the first alone, the rest together, ids once each
  });

  it('writes presence in batches, and a failed batch is logged once, not thrown at the bus', async () => {
    const written: PresenceUpdate[][] = [];
    const warnings: unknown[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    let fail = false;
    const recorder = presenceRecorder(
      {
        async recordPresence(updates) {
          if (fail) throw new Error('database went away');
          written.push([...updates]);
        },
      },
      log,
    );
    const at = new Date('2030-01-01T00:00:00Z');
    for (const deviceId of ['a', 'b', 'c']) recorder.record({ deviceId, online: true, at });
    await recorder.flush();
    expect(written.map((batch) => batch.map((u) => u.deviceId))).toEqual([['a', 'b', 'c']]); // one statement

    fail = true;
    for (const deviceId of ['d', 'e']) recorder.record({ deviceId, online: false, at });
    await recorder.flush();
    expect(warnings).toHaveLength(1); // one per failed batch, not one per device
    expect(warnings[0]).toMatchObject({ msg: 'presence update failed', devices: 2, err: { message: 'database went away' } });
  });
});
