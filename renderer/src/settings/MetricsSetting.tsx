import { useEffect, useState } from 'react';
import type { ThreadlineApi } from '../../../contract/api';
import type { DesktopApi, MetricsEndpointStatus } from '../../../contract/desktop-api';
import { useDashboard } from '../app/dashboard-context';

type MetricsMethods = Pick<DesktopApi, 'metricsEndpoint' | 'setMetricsEndpoint'>;

/** The desktop app's metrics methods, or null in a browser (`threadline serve` has `/metrics` always). */
export function desktopMetrics(api: ThreadlineApi): MetricsMethods | null {
  const host = api as ThreadlineApi & Partial<MetricsMethods>;
  if (typeof host.metricsEndpoint !== 'function' || typeof host.setMetricsEndpoint !== 'function') return null;
  return { metricsEndpoint: host.metricsEndpoint.bind(host), setMetricsEndpoint: host.setMetricsEndpoint.bind(host) };
}

/** Settings of the desktop app: the Prometheus endpoint on 127.0.0.1, off until turned on here. */
export function MetricsSetting() {
  const { api } = useDashboard();
  const methods = desktopMetrics(api);
  return methods ? <MetricsSettingPanel methods={methods} /> : null;
}

function MetricsSettingPanel({ methods }: { methods: MetricsMethods }) {
  const [status, setStatus] = useState<MetricsEndpointStatus | null>(null);
  const [port, setPort] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    methods.metricsEndpoint().then(
      (current) => {
        setStatus(current);
        setPort(String(current.port));
      },
      (error: Error) => setProblem(error.message),
    );
    // Read once, on mount: the methods object is made anew on every render.
  }, []);

  const apply = (enabled: boolean) => {
    const wanted = Number(port);
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65_535) {
      setProblem('the port is a whole number from 0 to 65535 (0 picks a free one)');
      return;
    }
    setBusy(true);
    setProblem(null);
    methods
      .setMetricsEndpoint({ enabled, port: wanted })
      .then(
        (next) => {
          setStatus(next);
          setPort(String(next.port));
        },
        (error: Error) => setProblem(error.message),
      )
      .finally(() => setBusy(false));
  };

  return (
    <section className="panel metrics-setting" aria-labelledby="metrics-setting-title">
      <header className="panel-header">
        <h2 id="metrics-setting-title">Settings</h2>
      </header>
      <label className="metrics-toggle">
        <input type="checkbox" checked={status?.enabled ?? false} disabled={status === null || busy} onChange={(event) => apply(event.target.checked)} />
        Serve Prometheus metrics on 127.0.0.1
      </label>
      <label className="metrics-port">
        Port
        <input type="number" min={0} max={65_535} value={port} disabled={status === null || busy} onChange={(event) => setPort(event.target.value)} />
      </label>
      {status?.enabled && (
        <button type="button" disabled={busy} onClick={() => apply(true)}>
          Use this port
        </button>
      )}
      {status?.url && (
        <p>
          Scrape <code>{status.url}</code> with <code>Authorization: Bearer {status.token}</code>
        </p>
      )}
      {(problem ?? status?.problem) && <p role="alert">{problem ?? status?.problem}</p>}
    </section>
  );
}
