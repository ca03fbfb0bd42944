import { useEffect, useMemo, useState } from 'react';
import type { ThreadlineApi } from '../../../contract/api';
import { TaskDetail } from '../detail/TaskDetail';
import { HealthCharts } from '../health/HealthCharts';
import { HeadlineNumbers } from '../health/HeadlineNumbers';
import { NewWorkPanel } from '../new-work/NewWorkPanel';
import { SchedulesPanel } from '../schedules/SchedulesPanel';
import type { DashboardStore } from '../store/dashboard-store';
import { JobsList } from '../tasks/JobsList';
import { NO_FILTER, type TaskFilter } from '../tasks/task-filter';
import { TaskTable } from '../tasks/TaskTable';
import { Timeline } from '../timeline/Timeline';
import { DashboardContext, useStoreVersion } from './dashboard-context';
import { DemoButtons } from './DemoButtons';
import { NoticesProvider } from './notices';

export interface AppProps {
  api: ThreadlineApi;
  store: DashboardStore;
}

/** The dashboard: timeline, health, tasks and jobs, new work, and a task's detail. */
export function App({ api, store }: AppProps) {
  const dashboard = useMemo(() => ({ api, store }), [api, store]);
  const [selectedKey, setSelectedKey] = useState<string | null>(null);
  const [filter, setFilter] = useState<TaskFilter>(NO_FILTER);

  useEffect(() => api.subscribe((event) => store.apply(event)), [api, store]);

  return (
    <DashboardContext.Provider value={dashboard}>
      <NoticesProvider>
        <div className="app">
          <header className="topbar">
            <h1>Threadline</h1>
            <StreamBadge store={store} />
            <DemoButtons />
          </header>
          <HeadlineNumbers />
          <Timeline store={store} selectedKey={selectedKey} onOpenTask={setSelectedKey} />
          <div className="work-area">
            <TaskTable filter={filter} onFilterChange={setFilter} selectedKey={selectedKey} onOpenTask={setSelectedKey} />
            <div className="side-column">
              <JobsList filterJobId={filter.jobId} onShowJob={(jobId) => setFilter({ ...filter, jobId })} />
              <NewWorkPanel />
              <SchedulesPanel />
            </div>
          </div>
          <HealthCharts />
          {selectedKey && <TaskDetail key={selectedKey} taskKey={selectedKey} onClose={() => setSelectedKey(null)} />}
        </div>
      </NoticesProvider>
    </DashboardContext.Provider>
  );
}

function StreamBadge({ store }: { store: DashboardStore }) {
  useStoreVersion(store);
  const text = { connecting: 'connecting…', live: 'live', resyncing: 'catching up…' }[store.stream];
  return (
    <span className={`stream-badge stream-${store.stream}`} role="status" data-testid="stream-state">
      {text}
    </span>
  );
}
