/**
 * Latency recording: an HDR histogram at microsecond precision for unbiased percentiles, plus
 * coarse log-spaced bins (1-2-5 steps) that reports draw as a histogram.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencyBin {
  fromMs: number;
  toMs: number;
  count: number;
}

export interface LatencySummary {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Non-empty range of the log-spaced bins, for drawing. */
  bins: LatencyBin[];
  /** Latency at selected percentiles (0..100), for the percentile plot. */
  percentiles: { percentile: number; ms: number }[];
}

const maxTrackableUs = 3_600_000_000; // one hour
/** Bin edges in microseconds: 10 us, 20 us, 50 us, 100 us, ... 500 s. */
const binEdgesUs = (() => {
  const edges: number[] = [0];
  for (let decade = 10; decade <= 100_000_000; decade *= 10) edges.push(decade, decade * 2, decade * 5);
  edges.push(maxTrackableUs);
  return edges;
})();
const plotPercentiles = [0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97.5, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];

export class LatencyRecorder {
  private readonly histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: maxTrackableUs,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: false,
    useWebAssembly: false,
  });
  private readonly binCounts = new Array<number>(binEdgesUs.length - 1).fill(0);

  get count(): number {
    return this.histogram.totalCount;
  }

  record(ms: number): void {
    const us = Math.min(maxTrackableUs, Math.max(1, Math.round(ms * 1000)));
    this.histogram.recordValue(us);
    let bin = 0;
    while (bin < this.binCounts.length - 1 && us >= binEdgesUs[bin + 1]!) bin++;
    this.binCounts[bin]!++;
  }

  /**
   * Value at a percentile, in milliseconds (0 when nothing was recorded). The histogram answers a
   * bucket's upper edge, which can lie above the largest value recorded: clamp to the real extremes
   * so a report never shows p99 above max.
   */
  percentileMs(percentile: number): number {
    if (this.count === 0) return 0;
    const us = Math.min(this.histogram.maxValue, Math.max(this.histogram.minNonZeroValue, this.histogram.getValueAtPercentile(percentile)));
    return toMs(us);
  }

  summary(): LatencySummary {
    if (this.count === 0) {
      return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, bins: [], percentiles: [] };
    }
    const first = this.binCounts.findIndex((count) => count > 0);
    const last = this.binCounts.length - 1 - [...this.binCounts].reverse().findIndex((count) => count > 0);
    const bins: LatencyBin[] = [];
    for (let index = first; index <= last; index++) {
      bins.push({ fromMs: binEdgesUs[index]! / 1000, toMs: binEdgesUs[index + 1]! / 1000, count: this.binCounts[index]! });
    }
    return {
      count: this.count,
      minMs: toMs(this.histogram.minNonZeroValue),
      meanMs: round3(this.histogram.mean / 1000),
      p50Ms: this.percentileMs(50),
      p90Ms: this.percentileMs(90),
      p99Ms: this.percentileMs(99),
      p999Ms: this.percentileMs(99.9),
      maxMs: toMs(this.histogram.maxValue),
      bins,
      percentiles: plotPercentiles.map((percentile) => ({ percentile, ms: this.percentileMs(percentile) })),
    };
  }
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;
const toMs = (us: number): number => round3(us / 1000);
