import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from '../../harness/load/latency.ts';

describe('latency summary', () => {
  it('never reports a percentile above the largest or below the smallest value recorded', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 200 }), (values) => {
        const recorder = new LatencyRecorder();
        for (const value of values) recorder.record(value);
        const summary = recorder.summary();
        for (const { ms } of summary.percentiles) {
          expect(ms).toBeLessThanOrEqual(summary.maxMs);
          expect(ms).toBeGreaterThanOrEqual(summary.minMs);
        }
        expect(summary.p99Ms).toBeLessThanOrEqual(summary.maxMs);
      }),
    );
  });

});
