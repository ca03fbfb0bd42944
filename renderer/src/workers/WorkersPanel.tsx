import type { RemoteMachine } from '../../../contract/telemetry';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { formatAgo, formatBytes, formatDuration } from '../format';

export interface WorkersPanelProps {
  /** Narrows the task table to the tasks that ran or run on a machine. */
  onShowTasks: (machine: string) => void;
}

const byName = new Intl.Collator('en', { numeric: true });

/** Machines in name order (`build-2` before `build-10`). */
export function sortMachines(machines: readonly RemoteMachine[]): RemoteMachine[] {
  return [...machines].sort((a, b) => byName.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const STATE_TEXT: Record<RemoteMachine['state'], string> = { ready: 'ready', draining: 'draining', lost: 'lost' };

/**
 * The remote worker machines (`threadline worker` processes) as the latest telemetry sample
 * lists them. "Last heard" is measured on the engine's clock: from the machine's last
 * announcement to the sample, so a viewer's clock does not skew it.
 */
export function WorkersPanel({ onShowTasks }: WorkersPanelProps) {
  const { store } = useDashboard();
  useStoreVersion(store);
  const latest = store.telemetry.last();
  const machines = sortMachines(latest?.machines ?? []);
  if (!latest || machines.length === 0) {
    return (
      <section className="panel workers-panel workers-none" aria-labelledby="workers-heading" data-testid="workers-panel">
        <h2 id="workers-heading">Workers</h2>
        <p className="hint">No remote workers: every task runs on this machine.</p>
      </section>
    );
  }
  const threads = machines.filter((m) => m.state !== 'lost').reduce((sum, m) => sum + m.threads, 0);
  return (
    <section className="panel workers-panel" aria-labelledby="workers-heading" data-testid="workers-panel">
      <header className="panel-header">
        <h2 id="workers-heading">Workers</h2>
        <span className="hint">
          {machines.length} {machines.length === 1 ? 'machine' : 'machines'}, {threads} remote {threads === 1 ? 'thread' : 'threads'} not lost
        </span>
      </header>
      <div className="workers-table-wrap">
        <table className="small-table workers-table" aria-labelledby="workers-heading">
          <thead>
            <tr>
              <th scope="col">Machine</th>
              <th scope="col">Host</th>
              <th scope="col" className="num">Threads</th>
              <th scope="col" className="num">Running</th>
              <th scope="col">State</th>
              <th scope="col">Last heard</th>
              <th scope="col" className="num">Memory</th>
              <th scope="col" className="num">Loop p99</th>
              <th scope="col">
                <span className="visually-hidden">Tasks</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {machines.map((machine) => (
              <tr key={machine.name} data-machine={machine.name} className={`machine-${machine.state}`}>
                <th scope="row" className="mono">
                  {machine.name}
                </th>
                <td className="mono" title={machine.host}>
                  {machine.host}
                </td>
                <td className="num">{machine.threads}</td>
                <td className="num">{machine.running}</td>
                <td>
                  <span className={`machine-state machine-state-${machine.state}`}>{STATE_TEXT[machine.state]}</span>
                </td>
                <td>
                  <time dateTime={new Date(machine.lastHeardAt).toISOString()} title={new Date(machine.lastHeardAt).toLocaleString()}>
                    {formatAgo(Math.max(0, latest.at - machine.lastHeardAt))}
                  </time>
                </td>
                <td className="num">{formatBytes(machine.rssBytes)}</td>
                <td className="num">{formatDuration(machine.loopDelayP99Ms)}</td>
                <td>
                  <button type="button" className="small" onClick={() => onShowTasks(machine.name)}>
                    Tasks<span className="visually-hidden"> on {machine.name}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
