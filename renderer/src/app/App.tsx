import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ThreadlineApi } from '../../../contract/api';
import { TaskDetail } from '../detail/TaskDetail';
import { HealthCharts } from '../health/HealthCharts';
import { HeadlineNumbers } from '../health/HeadlineNumbers';
import { NewWorkPanel } from '../new-work/NewWorkPanel';
import { SchedulesPanel } from '../schedules/SchedulesPanel';
import { MetricsSetting } from '../settings/MetricsSetting';
import { RemoteWorkersSetting } from '../settings/RemoteWorkersSetting';
import type { DashboardStore } from '../store/dashboard-store';
import { JobsList } from '../tasks/JobsList';
import { NO_FILTER, type TaskFilter } from '../tasks/task-filter';
import { TaskTable } from '../tasks/TaskTable';
import { Timeline } from '../timeline/Timeline';
import { WorkersPanel } from '../workers/WorkersPanel';
import { ConnectionProblem } from './ConnectionProblem';
import { DashboardContext, useStoreVersion } from './dashboard-context';
import { DemoButtons } from './DemoButtons';
import { useJobRoute } from './job-route';
import { NoticesProvider } from './notices';
import { usePastJobLoader } from './use-past-job-loader';

export interface AppProps {
  api: ThreadlineApi;
  store: DashboardStore;
}

/** The dashboard: timeline, remote workers, health, tasks and jobs, new work, and a task's detail. */
export function App({ api, store }: AppProps) {
  const dashboard = useMemo(() => ({ api, store }), [api, store]);
  const [selectedKey, setSelectedKey] = useState<string | null>(null);
  const [filter, setFilter] = useState<TaskFilter>(NO_FILTER);
  const [routeJobId, openJob] = useJobRoute();

  useEffect(() => api.subscribe((event) => store.apply(event)), [api, store]);
  // The job in the URL is the table's job filter; one the host no longer holds is fetched.
  useEffect(() => setFilter((f) => (f.jobId === routeJobId ? f : { ...f, jobId: routeJobId })), [routeJobId]);
  const jobProblem = usePastJobLoader(api, store, routeJobId);
  const changeFilter = useCallback(
    (next: TaskFilter) => {
      setFilter(next);
      if (next.jobId !== routeJobId) openJob(next.jobId);
    },
    [routeJobId, openJob],
  );

  return (
    <DashboardContext.Provider value={dashboard}>
      <NoticesProvider>
        <div className={selectedKey ? 'app with-drawer' : 'app'}>
          <header className="topbar">
            <h1>Threadline</h1>
            <StreamBadge store={store} />
            <DemoButtons />
          </header>
          <main>
            <ConnectionProblem store={store} />
            {jobProblem && (
              <p className="connection-problem" role="alert">
                Cannot open job {routeJobId}: {jobProblem}
              </p>
            )}
            <HostNotices store={store} />
            <HeadlineNumbers />
            <Timeline store={store} selectedKey={selectedKey} onOpenTask={setSelectedKey} />
            <WorkersPanel onShowTasks={(machine) => changeFilter({ ...filter, machine, text: '' })} />
            <div className="work-area">
              <TaskTable filter={filter} onFilterChange={changeFilter} selectedKey={selectedKey} onOpenTask={setSelectedKey} />
              <div className="side-column">
                <JobsList filterJobId={filter.jobId} onShowJob={(jobId) => changeFilter({ ...filter, jobId })} />
                <NewWorkPanel />
                <SchedulesPanel />
                <MetricsSetting />
                <RemoteWorkersSetting />
              </div>
            </div>
            <HealthCharts />
          </main>
          {selectedKey && <TaskDetail key={selectedKey} taskKey={selectedKey} onClose={() => setSelectedKey(null)} />}
        </div>
      </NoticesProvider>
    </DashboardContext.Provider>
  );
}

const NOTICE_TITLES = { DISK_FULL: 'Disk full', STORE_WRITE_FAILED: 'Job store not written', REDIS_UNREACHABLE: 'Remote workers', REMOTE_WORKER_REFUSED: 'Remote workers refused', REMOTE_WORKER_TURNED_AWAY: 'Remote workers turned away', REMOTE_WORKER_CUT_OFF: 'Remote workers cut off' } as const;
/** What a store's notice adds: the others say in their message what follows from them. */
const STORE_HELD = '. No new task starts until it can be written again.';

/** What the host says lasts until it clears, such as a full disk under its job store. */
function HostNotices({ store }: { store: DashboardStore }) {
  useStoreVersion(store);
  if (store.hostNotices.length === 0) return null;
  return (
    <div className="host-notices" role="alert" data-testid="host-notices">
      {store.hostNotices.map((notice) => (
        <p key={notice.code} className="host-notice">
          <strong>{NOTICE_TITLES[notice.code]}:</strong> {notice.message}
          {notice.code === 'DISK_FULL' || notice.code === 'STORE_WRITE_FAILED' ? STORE_HELD : '.'}
        </p>
      ))}
    </div>
  );
}

const STREAM_TEXT = {
  connecting: 'connecting…',
  live: 'live',
  resyncing: 'catching up…',
  refused: 'token refused',
  unreachable: 'server unreachable',
} as const;

function StreamBadge({ store }: { store: DashboardStore }) {
  useStoreVersion(store);
  return (
    <span className={`stream-badge stream-${store.stream}`} role="status" data-testid="stream-state">
      {STREAM_TEXT[store.stream]}
    </span>
  );
}
