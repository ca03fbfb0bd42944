import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { formatBytes, formatCount, formatDuration, formatRate } from '../format';
import { readRendererHeap, recentThroughput } from './health-series';

/** The numbers a glance needs: how much runs, waits, ended, and how healthy the host is. */
export function HeadlineNumbers() {
  const { store } = useDashboard();
  useStoreVersion(store);
  const c = store.counts;
  const last = store.telemetry.last();
  const rendererHeap = readRendererHeap();
  const items: Array<[string, string, string?]> = [
    ['running', formatCount(c.running + c.cancelling), c.cancelling > 0 ? `${formatCount(c.cancelling)} cancelling` : undefined],
    ['queued', formatCount(c.queued)],
    ['done', formatCount(c.succeeded)],
    ['failed', formatCount(c.failed + c.timed_out), c.cancelled > 0 ? `${formatCount(c.cancelled)} cancelled` : undefined],
    ['throughput', formatRate(recentThroughput(store.telemetry))],
    ['loop p99', last ? formatDuration(last.loop.delayP99Ms) : '–'],
    ['memory', last ? formatBytes(last.memory.rss) : '–', `renderer ${rendererHeap === null ? 'n/a' : formatBytes(rendererHeap)}`],
  ];
  return (
    <dl className="headline" aria-label="Headline numbers">
      {items.map(([label, value, sub]) => (
        <div key={label} className="headline-item" data-headline={label}>
          <dt>{label}</dt>
          <dd>
            {value}
            {sub && <small>{sub}</small>}
          </dd>
        </div>
      ))}
    </dl>
  );
}
