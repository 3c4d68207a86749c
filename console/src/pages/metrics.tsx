/** Live metrics of your devices: connected, commands per second, round-trip p50/p99 (uPlot, loaded on this page only). */
import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlotType from 'uplot';
import { useLive } from '../hooks.ts';
import type { MetricsPoint } from '../live.ts';

type UPlot = typeof uPlotType;

const charts: { title: string; series: { label: string; value: (point: MetricsPoint) => number | null; stroke: string }[] }[] = [
  { title: 'Connected devices', series: [{ label: 'connected', value: (p) => p.connected, stroke: '#1565c0' }] },
  {
    title: 'Commands per second',
    series: [
      { label: 'commands/s', value: (p) => p.commandsPerSecond, stroke: '#2e7d32' },
      { label: 'failed/s', value: (p) => p.failuresPerSecond, stroke: '#c62828' },
    ],
  },
  {
    title: 'Command round trip (ms)',
    series: [
      { label: 'p50', value: (p) => p.p50Ms, stroke: '#6a1b9a' },
      { label: 'p99', value: (p) => p.p99Ms, stroke: '#ef6c00' },
    ],
  },
];

export function MetricsPage() {
  const state = useLive();
  const [uPlot, setUPlot] = useState<UPlot>();
  useEffect(() => {
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([module]) => setUPlot(() => module.default));
  }, []);
  const latest = state.metrics.at(-1);
  return (
    <>
      <h1>Live metrics</h1>
      <p class="summary">
        {latest
          ? `${latest.connected} of ${latest.devices} devices connected · ${latest.commandsPerSecond.toFixed(1)} commands/s · p50 ${latest.p50Ms ?? '–'} ms · p99 ${latest.p99Ms ?? '–'} ms`
          : 'Waiting for the first second of data…'}
      </p>
      <p class="hint">
        Your devices only, one point a second over the last five minutes. The whole server's figures are at <code>/metrics</code> (Prometheus).
      </p>
      {uPlot && charts.map((chart) => <Chart key={chart.title} uPlot={uPlot} chart={chart} points={state.metrics} version={state.version} />)}
    </>
  );
}

function Chart({ uPlot, chart, points, version }: { uPlot: UPlot; chart: (typeof charts)[number]; points: MetricsPoint[]; version: number }) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlotType>();
  const data = (): uPlotType.AlignedData => [points.map((p) => p.at / 1000), ...chart.series.map((series) => points.map(series.value))];
  useEffect(() => {
    const width = Math.max(300, Math.min(900, holder.current!.clientWidth));
    plot.current = new uPlot(
      { title: chart.title, width, height: 220, series: [{}, ...chart.series.map((series) => ({ label: series.label, stroke: series.stroke, width: 2, spanGaps: true }))], axes: [{}, { size: 60 }] },
      data(),
      holder.current!,
    );
    return () => plot.current?.destroy();
  }, [uPlot]);
  useEffect(() => plot.current?.setData(data()), [version]);
  return <figure class="chart" ref={holder} aria-label={chart.title} role="img" />;
}
