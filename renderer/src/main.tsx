import './zod-config';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'uplot/dist/uPlot.min.css';
import type { ThreadlineApi } from '../../contract/api';
import { App } from './app/App';
import { readRendererHeap } from './health/health-series';
import { DashboardStore } from './store/dashboard-store';
import { checkToken } from './transport/token-check';
import { apiSocketUrl, createWebSocketApi } from './transport/websocket-api';
import './styles.css';

/**
 * The one place that knows where the API comes from: the desktop's preload exposes it as
 * `window.threadline`; in a browser it is the WebSocket of the page's own origin.
 */
function start(): void {
  const root = createRoot(document.getElementById('root')!);
  let api: ThreadlineApi | null = null;
  const store = new DashboardStore({
    onGap: () => void api?.resync().catch(() => store.disconnected()),
    readRendererMemory: readRendererHeap,
  });
  const exposed = (window as unknown as { threadline?: ThreadlineApi }).threadline;
  if (exposed) api = exposed;
  else {
    const url = apiSocketUrl(window.location);
    if (url) {
      api = createWebSocketApi({
        url,
        onStatus: (status) => {
          if (status.state !== 'closed') return;
          store.disconnected();
          // The browser does not say why a socket closed: a refused token and a stopped host look alike.
          void checkToken(window.location).then((check) => check !== 'accepted' && store.connectionLost(check));
        },
        // An error, not a warning: the host broke the contract (and the end-to-end test watches for it).
        onBadMessage: (problem) => console.error(`Threadline: ignored ${problem}`),
      });
    }
  }
  if (!api) {
    root.render(<MissingToken />);
    return;
  }
  root.render(
    <StrictMode>
      <App api={api} store={store} />
    </StrictMode>,
  );
}

function MissingToken() {
  return (
    <main className="missing-token" aria-labelledby="missing-token-title">
      <h1 id="missing-token-title">Threadline</h1>
      <p>
        This page needs the address <code>threadline serve</code> printed, with its <code>?token=…</code>: the token keeps other
        pages and programs on this machine out of your dashboard.
      </p>
    </main>
  );
}

start();
