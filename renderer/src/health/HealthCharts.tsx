import { useMemo } from 'react';
import type uPlot from 'uplot';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { formatBytes, formatPercent } from '../format';
import { healthSeries } from './health-series';
import { UPlotChart, type ChartSeries } from './UPlotChart';

const WORKER_COLORS = ['#60a5fa', '#34d399', '#fbbf24', '#f472b6', '#a78bfa', '#22d3ee', '#fb923c', '#a3e635'];
const ms = (v: number): string => (v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`);
const count = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const SHARE: [number, number] = [0, 1];

/** The engine's health over time, from its telemetry samples, plus the renderer's own heap. */
export function HealthCharts() {
  const { store } = useDashboard();
  useStoreVersion(store);
  // Telemetry arrives a few times a second; task deltas in between need no new columns.
  const telemetryKey = `${store.telemetry.length}:${store.telemetry.last()?.at ?? 0}`;
  const h = useMemo(() => healthSeries(store.telemetry, store.rendererMemory), [store, telemetryKey]);
  const rendererKnown = h.rendererHeap.some((v) => v !== null);

  const memory = useMemo(() => {
    const series: ChartSeries[] = [
      { label: 'main rss', color: '#60a5fa' },
      { label: 'main heap', color: '#34d399' },
      { label: 'renderer heap', color: '#f472b6' },
    ];
    return { series, data: [h.x, h.rss, h.heapUsed, h.rendererHeap] as uPlot.AlignedData };
  }, [h]);

  const workers = useMemo(() => {
    const series: ChartSeries[] = h.workerIds.map((id, i) => ({ label: `thread ${id}`, color: WORKER_COLORS[i % WORKER_COLORS.length]! }));
    return { series, data: [h.x, ...h.workerHeaps] as uPlot.AlignedData };
  }, [h]);

  return (
    <section className="panel health-panel" aria-label="Health">
      <header className="panel-header">
        <h2>Health</h2>
      </header>
      <div className="charts">
        <UPlotChart
          title="Memory"
          note={rendererKnown ? undefined : 'renderer heap: n/a in this browser'}
          series={memory.series}
          data={memory.data}
          formatValue={formatBytes}
        />
        <UPlotChart
          title="Worker heaps"
          note={h.workerIds.length === 0 ? 'no thread has reported yet' : undefined}
          series={workers.series}
          data={workers.data}
          formatValue={formatBytes}
        />
        <UPlotChart
          title="Event-loop delay"
          series={[
            { label: 'p50', color: '#34d399' },
            { label: 'p99', color: '#fbbf24' },
            { label: 'max', color: '#f87171' },
          ]}
          data={useMemo(() => [h.x, h.loopP50, h.loopP99, h.loopMax], [h])}
          formatValue={ms}
        />
        <UPlotChart
          title="Utilization"
          series={[
            { label: 'pool', color: '#60a5fa' },
            { label: 'event loop', color: '#f472b6' },
          ]}
          data={useMemo(() => [h.x, h.poolUtilization, h.loopUtilization], [h])}
          formatValue={formatPercent}
          yRange={SHARE}
        />
        <UPlotChart
          title="Queue depth"
          series={[
            { label: 'queued', color: '#94a3b8' },
            { label: 'running', color: '#3b82f6' },
          ]}
          data={useMemo(() => [h.x, h.queued, h.running], [h])}
          formatValue={count}
        />
        <UPlotChart
          title="Completions per second"
          series={[{ label: 'completions/s', color: '#22c55e' }]}
          data={useMemo(() => [h.x, h.completionsPerSecond], [h])}
          formatValue={count}
        />
      </div>
    </section>
  );
}
