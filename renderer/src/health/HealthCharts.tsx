import { useMemo } from 'react';
import type uPlot from 'uplot';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { formatBytes, formatPercent } from '../format';
import { healthSeries } from './health-series';
import { UPlotChart, type ChartSeries, type UPlotChartProps } from './UPlotChart';

const WORKER_COLORS = ['#60a5fa', '#34d399', '#fbbf24', '#f472b6', '#a78bfa', '#22d3ee', '#fb923c', '#a3e635'];
const ms = (v: number): string => (v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`);
const count = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const SHARE: [number, number] = [0, 1];
const MEMORY_SERIES: ChartSeries[] = [
  { label: 'main rss', color: '#60a5fa' },
  { label: 'main heap', color: '#34d399' },
  { label: 'renderer heap', color: '#f472b6' },
];
const LOOP_DELAY_SERIES: ChartSeries[] = [
  { label: 'p50', color: '#34d399' },
  { label: 'p99', color: '#fbbf24' },
  { label: 'max', color: '#f87171' },
];
const UTILIZATION_SERIES: ChartSeries[] = [
  { label: 'pool', color: '#60a5fa' },
  { label: 'event loop', color: '#f472b6' },
];
const QUEUE_SERIES: ChartSeries[] = [
  { label: 'queued', color: '#94a3b8' },
  { label: 'running', color: '#3b82f6' },
];
const COMPLETION_SERIES: ChartSeries[] = [{ label: 'completions/s', color: '#22c55e' }];

/** The engine's health over time, from its telemetry samples, plus the renderer's own heap. */
export function HealthCharts() {
  const { store } = useDashboard();
  useStoreVersion(store);
  // Telemetry arrives a few times a second; task deltas in between need no new columns.
  const telemetryKey = `${store.telemetry.length}:${store.telemetry.last()?.at ?? 0}`;
  const h = useMemo(() => healthSeries(store.telemetry, store.rendererMemory), [store, telemetryKey]);

  const charts = useMemo((): UPlotChartProps[] => {
    const rendererKnown = h.rendererHeap.some((v) => v !== null);
    const workerSeries: ChartSeries[] = h.workerIds.map((id, i) => ({ label: `thread ${id}`, color: WORKER_COLORS[i % WORKER_COLORS.length]! }));
    return [
      {
        title: 'Memory',
        note: rendererKnown ? undefined : 'renderer heap: n/a in this browser',
        series: MEMORY_SERIES,
        data: [h.x, h.rss, h.heapUsed, h.rendererHeap] as uPlot.AlignedData,
        formatValue: formatBytes,
      },
      {
        title: 'Worker heaps',
        note: h.workerIds.length === 0 ? 'no thread has reported yet' : undefined,
        series: workerSeries,
        data: [h.x, ...h.workerHeaps] as uPlot.AlignedData,
        formatValue: formatBytes,
      },
      { title: 'Event-loop delay', series: LOOP_DELAY_SERIES, data: [h.x, h.loopP50, h.loopP99, h.loopMax] as uPlot.AlignedData, formatValue: ms },
      { title: 'Utilization', series: UTILIZATION_SERIES, data: [h.x, h.poolUtilization, h.loopUtilization] as uPlot.AlignedData, formatValue: formatPercent, yRange: SHARE },
      { title: 'Queue depth', series: QUEUE_SERIES, data: [h.x, h.queued, h.running] as uPlot.AlignedData, formatValue: count },
      { title: 'Completions per second', series: COMPLETION_SERIES, data: [h.x, h.completionsPerSecond] as uPlot.AlignedData, formatValue: count },
    ];
  }, [h]);

  return (
    <section className="panel health-panel" aria-label="Health">
      <header className="panel-header">
        <h2>Health</h2>
      </header>
      <div className="charts">
        {charts.map((chart) => (
          <UPlotChart key={chart.title} {...chart} />
        ))}
      </div>
    </section>
  );
}
