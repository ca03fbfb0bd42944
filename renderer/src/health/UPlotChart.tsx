import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import { formatClock } from '../format';

export interface ChartSeries {
  label: string;
  color: string;
}

export interface UPlotChartProps {
  title: string;
  series: readonly ChartSeries[];
  /** Columns: x (seconds) first, then one per series; null for a gap. */
  data: uPlot.AlignedData;
  formatValue: (value: number) => string;
  /** Fixed y range, e.g. [0, 1] for a share. */
  yRange?: [number, number];
  height?: number;
  /** Shown under the title, e.g. why a series is missing. */
  note?: string;
}

let canvasSupport: boolean | null = null;

/** Whether this environment can draw on a canvas (happy-dom, for one, cannot). */
export function canDrawCanvas(): boolean {
  canvasSupport ??= typeof document !== 'undefined' && document.createElement('canvas').getContext('2d') !== null;
  return canvasSupport;
}

/**
 * One uPlot time-series chart. The chart object lives across renders; new data goes in with
 * `setData`, so a render costs a redraw, not a rebuild. `data-points` says how many x values it holds.
 */
export function UPlotChart({ title, series, data, formatValue, yRange, height = 150, note }: UPlotChartProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<uPlot | null>(null);
  const seriesKey = series.map((s) => `${s.label}:${s.color}`).join('|');
  const points = data[0]?.length ?? 0;
  const formatRef = useRef(formatValue);
  formatRef.current = formatValue;

  useEffect(() => {
    const host = hostRef.current!;
    if (!canDrawCanvas()) return;
    const options: uPlot.Options = {
      width: Math.max(200, host.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 5 } },
      scales: { x: { time: true }, y: yRange ? { range: yRange } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        {
          stroke: '#94a3b8',
          space: 70,
          grid: { stroke: 'rgba(148,163,184,0.12)' },
          ticks: { stroke: 'rgba(148,163,184,0.2)' },
          values: (_u, splits) => splits.map((s) => formatClock(s * 1000)),
        },
        {
          stroke: '#94a3b8',
          size: 72,
          grid: { stroke: 'rgba(148,163,184,0.12)' },
          ticks: { stroke: 'rgba(148,163,184,0.2)' },
          values: (_u, splits) => splits.map((v) => formatRef.current(v)),
        },
      ],
      series: [
        { label: 'time', value: (_u: uPlot, v: number | null) => (v === null ? '–' : formatClock(v * 1000)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : formatRef.current(v)),
        })),
      ],
    };
    const chart = new uPlot(options, emptyData(series.length), host);
    chartRef.current = chart;
    const observer =
      typeof ResizeObserver === 'undefined'
        ? null
        : new ResizeObserver(() => {
            const width = Math.max(200, host.clientWidth);
            if (width !== chart.width) chart.setSize({ width, height });
          });
    observer?.observe(host);
    return () => {
      observer?.disconnect();
      chart.destroy();
      chartRef.current = null;
    };
    // The chart is rebuilt only when its series change; data flows in below.
  }, [seriesKey, height, yRange?.[0], yRange?.[1]]);

  useEffect(() => {
    chartRef.current?.setData(data);
  }, [data, seriesKey]);

  return (
    <figure className="chart" data-points={points} aria-label={title}>
      <figcaption>
        {title}
        {note && <span className="chart-note"> · {note}</span>}
      </figcaption>
      <div ref={hostRef} className="chart-host">
        {!canDrawCanvas() && <LatestValues series={series} data={data} formatValue={formatValue} />}
      </div>
    </figure>
  );
}

/** Where no canvas exists, the latest value of each series in words. */
function LatestValues({ series, data, formatValue }: Pick<UPlotChartProps, 'series' | 'data' | 'formatValue'>) {
  return (
    <ul className="chart-fallback">
      {series.map((s, i) => {
        const column = data[i + 1] ?? [];
        const value = column[column.length - 1];
        return (
          <li key={s.label}>
            {s.label}: {value === null || value === undefined ? '–' : formatValue(value)}
          </li>
        );
      })}
    </ul>
  );
}

function emptyData(seriesCount: number): uPlot.AlignedData {
  return [[], ...Array.from({ length: seriesCount }, () => [] as number[])];
}
