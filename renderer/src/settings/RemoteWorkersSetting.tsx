import { useEffect, useState } from 'react';
import type { ThreadlineApi } from '../../../contract/api';
import type { DesktopApi, RemoteWorkersStatus } from '../../../contract/desktop-api';
import { useDashboard } from '../app/dashboard-context';

type RemoteWorkersMethods = Pick<DesktopApi, 'remoteWorkers' | 'setRemoteWorkers'>;

/** The desktop app's remote workers methods, or null in a browser (`threadline serve` takes `--redis` instead). */
export function desktopRemoteWorkers(api: ThreadlineApi): RemoteWorkersMethods | null {
  const host = api as ThreadlineApi & Partial<RemoteWorkersMethods>;
  if (typeof host.remoteWorkers !== 'function' || typeof host.setRemoteWorkers !== 'function') return null;
  return { remoteWorkers: host.remoteWorkers.bind(host), setRemoteWorkers: host.setRemoteWorkers.bind(host) };
}

/** Settings of the desktop app: threads of `threadline worker`s on a Redis, and whether to keep local threads. */
export function RemoteWorkersSetting() {
  const { api } = useDashboard();
  const methods = desktopRemoteWorkers(api);
  return methods ? <RemoteWorkersPanel methods={methods} /> : null;
}

function RemoteWorkersPanel({ methods }: { methods: RemoteWorkersMethods }) {
  const [status, setStatus] = useState<RemoteWorkersStatus | null>(null);
  // What is typed: never filled from the host, which shows the URL with its password hidden only.
  const [url, setUrl] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    methods.remoteWorkers().then(setStatus, (error: Error) => setProblem(error.message));
    // Read once, on mount: the methods object is made anew on every render.
  }, []);

  const apply = (change: { redisUrl?: string | null; localThreads?: boolean }) => {
    setBusy(true);
    setProblem(null);
    methods
      .setRemoteWorkers(change)
      .then(
        (next) => {
          setStatus(next);
          if (change.redisUrl !== undefined) setUrl('');
        },
        (error: Error) => setProblem(error.message),
      )
      .finally(() => setBusy(false));
  };

  const setting = status?.setting;
  const shownProblem = problem ?? status?.problem ?? null;
  return (
    <section className="panel remote-workers-setting" aria-labelledby="remote-workers-title">
      <header className="panel-header">
        <h2 id="remote-workers-title">Remote workers</h2>
      </header>
      <p data-testid="remote-workers-set">{setting?.redisUrl ? <>Redis: <code>{setting.redisUrl}</code></> : 'No Redis set: sync tasks run on this computer only.'}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          apply({ redisUrl: url });
        }}
      >
        <label className="remote-workers-url">
          Redis URL
          <input type="text" value={url} placeholder="redis://[user:password@]host[:port][/db] or rediss://…" autoComplete="off" spellCheck={false} disabled={status === null || busy} onChange={(event) => setUrl(event.target.value)} />
        </label>
        <button type="submit" disabled={status === null || busy || url.trim() === ''}>
          Use this Redis
        </button>
        {setting?.redisUrl && (
          <button type="button" disabled={busy} onClick={() => apply({ redisUrl: null, localThreads: true })}>
            Remove Redis
          </button>
        )}
      </form>
      <label className="remote-workers-local">
        <input type="checkbox" checked={setting?.localThreads ?? true} disabled={status === null || busy || !setting?.redisUrl} onChange={(event) => apply({ localThreads: event.target.checked })} />
        Local threads (off: every sync task runs on the remote workers)
      </label>
      {status?.restartNeeded && (
        <p role="status">
          Takes effect when Threadline starts again. Running now: {status.running.redisUrl ? <code>{status.running.redisUrl}</code> : 'no Redis'}, local threads{' '}
          {status.running.localThreads ? 'on' : 'off'}.
        </p>
      )}
      {shownProblem && <p role="alert">{shownProblem}</p>}
    </section>
  );
}
