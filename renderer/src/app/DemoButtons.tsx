import { useState } from 'react';
import { formatDuration } from '../format';
import { useDashboard } from './dashboard-context';
import { useNotices } from './notices';

/**
 * The demo, twice: on the pool as it should run, and inline on the host's main thread, which
 * blocks its event loop: the lesson of the product, shown by the product.
 */
export function DemoButtons() {
  const { api } = useDashboard();
  const { notify, failed, watchJob } = useNotices();
  const [busy, setBusy] = useState<'pool' | 'inline' | null>(null);

  const run = async (inline: boolean): Promise<void> => {
    setBusy(inline ? 'inline' : 'pool');
    try {
      const result = await api.runDemo({ inline });
      if (result.mode === 'pool') watchJob(result.job, 'Demo');
      else
        notify(
          `Inline demo: the host's event loop was blocked ${result.slices} times, ${formatDuration(result.blockedMs)} in all, the longest stall ${formatDuration(result.longestStallMs)}. See the stalls on the event-loop lane and the spike in Event-loop delay.`,
        );
    } catch (error) {
      failed(inline ? 'Inline demo' : 'Run demo', error);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="demo-buttons">
      <button type="button" className="primary" disabled={busy !== null} onClick={() => void run(false)}>
        Run demo
      </button>
      <button
        type="button"
        className="warning"
        disabled={busy !== null}
        title="Runs the same synchronous work on the host's main thread instead of the pool: its event loop stalls and the dashboard stutters."
        onClick={() => void run(true)}
      >
        Run demo inline (blocks the event loop)
      </button>
    </div>
  );
}
