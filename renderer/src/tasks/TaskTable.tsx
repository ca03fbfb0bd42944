import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useMemo, useRef, useState } from 'react';
import type { JobRecord, TaskRecord } from '../../../contract/records';
import { TASK_STATES } from '../../../contract/task-states';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { useNotices } from '../app/notices';
import { closeDirectionControls, formatClock, formatCount, formatDuration } from '../format';
import { STATE_COLORS, stateLabel } from '../state-colors';
import { workerLabel } from '../worker-names';
import { sortMachines } from '../workers/WorkersPanel';
import { canCancel, canRetry, durationOf, filterTaskKeys, waitOf, type StateFilter, type TaskFilter } from './task-filter';
import { useTaskActions } from './use-task-actions';

const ROW_HEIGHT = 32;

export interface TaskTableProps {
  filter: TaskFilter;
  onFilterChange: (filter: TaskFilter) => void;
  selectedKey: string | null;
  onOpenTask: (key: string) => void;
}

/** Every task in the store, virtualized: only the rows on screen exist in the DOM. */
export function TaskTable({ filter, onFilterChange, selectedKey, onOpenTask }: TaskTableProps) {
  const { store } = useDashboard();
  const version = useStoreVersion(store);
  const actions = useTaskActions();
  const { notify } = useNotices();
  const [checked, setChecked] = useState<ReadonlySet<string>>(new Set());
  const scrollRef = useRef<HTMLDivElement>(null);

  const keys = useMemo(
    () => filterTaskKeys(store.taskOrder, store.tasks, filter, store.attempts),
    // The store mutates in place; its version says when to look again.
    [store, filter, version],
  );
  const count = keys.length;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    getItemKey: (index) => keys[index] ?? index,
  });
  const now = Date.now();

  const cancellable = [...checked].filter((key) => {
    const task = store.tasks.get(key);
    return task !== undefined && canCancel(task.state);
  });
  const toggle = useCallback(
    (key: string, on: boolean): void =>
      setChecked((prev) => {
        const next = new Set(prev);
        if (on) next.add(key);
        else next.delete(key);
        return next;
      }),
    [],
  );
  const allShownChecked = count > 0 && checked.size >= count && keys.every((key) => checked.has(key));

  const cancelChecked = async (): Promise<void> => {
    const { cancelled, failed } = await actions.cancelMany(cancellable);
    setChecked(new Set());
    notify(`Asked ${formatCount(cancelled)} task${cancelled === 1 ? '' : 's'} to stop${failed > 0 ? `; ${failed} could not be cancelled` : ''}`);
  };

  // Newest first; runs of one job name told apart by their start time (and id).
  const jobs = [...store.jobs.values()].sort((a, b) => b.createdAt - a.createdAt);
  // The remote machines listed now, and the one filtered on even once it has left.
  const machines = sortMachines(store.telemetry.last()?.machines ?? []).map((m) => m.name);
  if (filter.machine !== null && !machines.includes(filter.machine)) machines.push(filter.machine);

  return (
    <section className="panel tasks-panel" aria-label="Tasks">
      <header className="panel-header">
        <h2>Tasks</h2>
        <span className="hint" data-testid="task-count">
          {formatCount(count)} of {formatCount(store.tasks.size)}
        </span>
        <div className="toolbar">
          <button type="button" disabled={cancellable.length === 0} onClick={() => void cancelChecked()}>
            Cancel selected{cancellable.length > 0 ? ` (${formatCount(cancellable.length)})` : ''}
          </button>
        </div>
      </header>
      <div className="filters" role="search">
        <label>
          State
          <select value={filter.state} onChange={(e) => onFilterChange({ ...filter, state: e.target.value as StateFilter })}>
            <option value="all">all</option>
            <option value="active">not ended</option>
            {TASK_STATES.map((state) => (
              <option key={state} value={state}>
                {stateLabel(state)} ({formatCount(store.counts[state] ?? 0)})
              </option>
            ))}
          </select>
        </label>
        <label>
          Job
          <select value={filter.jobId ?? ''} onChange={(e) => onFilterChange({ ...filter, jobId: e.target.value || null })}>
            <option value="">all jobs</option>
            {jobs.map((job) => (
              <option key={job.id} value={job.id}>
                {jobRunLabel(job)} ({job.id})
              </option>
            ))}
          </select>
        </label>
        {machines.length > 0 && (
          <label>
            Machine
            <select value={filter.machine ?? ''} onChange={(e) => onFilterChange({ ...filter, machine: e.target.value || null })}>
              <option value="">all machines</option>
              {machines.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="grow">
          Search
          <input
            type="search"
            placeholder="task id, kind, thread, error or its code"
            value={filter.text}
            onChange={(e) => onFilterChange({ ...filter, text: e.target.value })}
          />
        </label>
      </div>
      <div className="task-table" role="table" aria-label="Task list" aria-rowcount={count + 1}>
        <div className="task-row task-head" role="row" aria-rowindex={1}>
          <span role="columnheader" className="col-check">
            <input
              type="checkbox"
              aria-label="Select all shown tasks"
              checked={allShownChecked}
              onChange={(e) => setChecked(e.target.checked ? new Set(keys) : new Set())}
            />
          </span>
          <span role="columnheader">state</span>
          <span role="columnheader">task</span>
          <span role="columnheader">kind</span>
          <span role="columnheader">job</span>
          <span role="columnheader">progress</span>
          <span role="columnheader">wait</span>
          <span role="columnheader">duration</span>
          <span role="columnheader">worker</span>
          <span role="columnheader" className="col-actions">
            actions
          </span>
        </div>
        <div className="task-scroll" ref={scrollRef} data-testid="task-scroll">
          <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
            {virtualizer.getVirtualItems().map((item) => {
              const key = keys[item.index]!;
              const task = store.tasks.get(key);
              if (!task) return null;
              return (
                <TaskRow
                  key={key}
                  task={task}
                  jobName={jobRunLabel(store.jobs.get(task.jobId)) ?? task.jobId}
                  index={item.index}
                  top={item.start}
                  now={task.state === 'running' || task.state === 'cancelling' || task.state === 'queued' ? now : 0}
                  checked={checked.has(key)}
                  selected={selectedKey === key}
                  onCheck={toggle}
                  onOpen={onOpenTask}
                  onCancel={actions.cancel}
                  onRetry={actions.retry}
                />
              );
            })}
          </div>
          {count === 0 && <p className="empty">{store.tasks.size === 0 ? 'No tasks yet: run the demo or submit a job.' : 'No task matches the filter.'}</p>}
        </div>
      </div>
    </section>
  );
}

interface TaskRowProps {
  task: TaskRecord;
  jobName: string;
  index: number;
  top: number;
  /** The clock for live durations; 0 for a task whose numbers no longer move (keeps the row memoized). */
  now: number;
  checked: boolean;
  selected: boolean;
  onCheck: (key: string, on: boolean) => void;
  onOpen: (key: string) => void;
  onCancel: (key: string) => void;
  onRetry: (key: string) => void;
}

const TaskRow = memo(function TaskRow({ task, jobName, index, top, now, checked, selected, onCheck, onOpen, onCancel, onRetry }: TaskRowProps) {
  const clock = now || Date.now();
  return (
    <div
      className={selected ? 'task-row selected' : 'task-row'}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      data-task-key={task.key}
      data-state={task.state}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest('button, input')) return;
        onOpen(task.key);
      }}
    >
      <span role="cell" className="col-check">
        <input type="checkbox" aria-label={`Select ${task.id}`} checked={checked} onChange={(e) => onCheck(task.key, e.target.checked)} />
      </span>
      <span role="cell">
        <span className="state-badge" style={{ '--state-color': STATE_COLORS[task.state] } as React.CSSProperties} data-testid="task-state">
          {stateLabel(task.state)}
        </span>
      </span>
      <span role="cell" className="mono" title={task.key}>
        <button type="button" className="link task-open" title="Open the task" onClick={() => onOpen(task.key)}>
          {task.id}
        </button>
      </span>
      <span role="cell" className="mono">
        {task.kind}
      </span>
      <span role="cell" title={task.jobId}>
        {jobName}
      </span>
      <span role="cell">
        <ProgressCell task={task} />
      </span>
      <span role="cell" className="num">
        {formatDuration(waitOf(task, clock))}
      </span>
      <span role="cell" className="num">
        {formatDuration(durationOf(task, clock))}
      </span>
      <span role="cell" className="mono">
        {workerLabel(task.worker)}
      </span>
      <span role="cell" className="col-actions">
        {canCancel(task.state) && (
          <button type="button" className="small" onClick={() => onCancel(task.key)}>
            Cancel
          </button>
        )}
        {canRetry(task.state) && (
          <button type="button" className="small" onClick={() => onRetry(task.key)}>
            Retry
          </button>
        )}
      </span>
    </div>
  );
});

/** "nightly · 23:45:12": a job's name and when it started, so two runs of one job differ. */
export function jobRunLabel(job: JobRecord | undefined): string | undefined {
  return job && `${closeDirectionControls(job.name)} · ${formatClock(job.createdAt)}`;
}

function ProgressCell({ task }: { task: TaskRecord }) {
  if (task.progress === null) return <span className="muted">{task.state === 'succeeded' ? '100%' : '–'}</span>;
  const percent = Math.round(task.progress * 100);
  return (
    <span className="progress-cell" title={task.progressMessage ?? undefined}>
      <progress max={1} value={task.progress} aria-label={`${task.id} progress`} />
      <span className="num">{percent}%</span>
    </span>
  );
}
