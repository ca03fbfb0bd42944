import type { DashboardStore } from '../store/dashboard-store';
import { useStoreVersion } from './dashboard-context';

/** Says why the page is not live when the reason is known, and what to do about it. */
export function ConnectionProblem({ store }: { store: DashboardStore }) {
  useStoreVersion(store);
  if (store.stream === 'refused') {
    return (
      <div className="connection-problem" role="alert" data-testid="connection-problem">
        <strong>The server refused this page's token.</strong> It was restarted (each run of <code>threadline serve</code> makes a new
        token unless it is started with <code>--token</code> or <code>THREADLINE_TOKEN</code>), or this address is not the one it printed.
        Open the URL <code>threadline serve</code> printed on its terminal.
      </div>
    );
  }
  if (store.stream === 'unreachable') {
    return (
      <div className="connection-problem" role="alert" data-testid="connection-problem">
        <strong>No Threadline server answers at this address.</strong> Start <code>threadline serve</code> again (the page reconnects by
        itself if it keeps its token), or open the URL it printed.
      </div>
    );
  }
  return null;
}
