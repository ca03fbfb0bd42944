import { useState } from 'react';
import { JobFileLoader } from './JobFileLoader';
import { KindTaskForm } from './KindTaskForm';

const TABS = [
  { id: 'sql', label: 'SQL query' },
  { id: 'file', label: 'File task' },
  { id: 'job-file', label: 'Job file' },
] as const;

type TabId = (typeof TABS)[number]['id'];

const SQL_FAMILIES = ['sql.', 'csv.'];
const FILE_FAMILIES = ['file.'];

/** Starting new work: a SQL query, a file task, or a whole job file. */
export function NewWorkPanel() {
  const [tab, setTab] = useState<TabId>('sql');
  return (
    <section className="panel new-work-panel" aria-label="New work">
      <header className="panel-header">
        <h2>New work</h2>
      </header>
      <div className="tabs" role="tablist" aria-label="Kind of new work">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`new-work-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`new-work-${t.id}`}
            className={tab === t.id ? 'tab active' : 'tab'}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`new-work-${tab}`} aria-labelledby={`new-work-tab-${tab}`}>
        {tab === 'sql' && <KindTaskForm families={SQL_FAMILIES} title="SQL query" kindLabel="Statement" defaultJobName="SQL query" />}
        {tab === 'file' && <KindTaskForm families={FILE_FAMILIES} title="File task" kindLabel="Operation" defaultJobName="File task" />}
        {tab === 'job-file' && <JobFileLoader />}
      </div>
    </section>
  );
}
