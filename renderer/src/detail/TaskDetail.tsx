import { useEffect, useRef, useState } from 'react';
import type { TaskDetail as TaskDetailData } from '../../../contract/api';
import type { TaskAttempt, TaskLogLine, TaskRecord } from '../../../contract/records';
import { describeTaskErrorCode } from '../../../contract/task-error-codes';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { describeError } from '../app/notices';
import { closeDirectionControls, formatClock, formatDuration } from '../format';
import { STATE_COLORS, stateLabel } from '../state-colors';
import { workerLabel } from '../worker-names';
import { canCancel, canRetry, durationOf, waitOf } from '../tasks/task-filter';
import { useTaskActions } from '../tasks/use-task-actions';
import { cellText, previewJson, resultTable } from './result-rows';

export interface TaskDetailProps {
  taskKey: string;
  onClose: () => void;
}

/** Everything about one task: input, attempts, timings, progress, logs, result or error. */
export function TaskDetail({ taskKey, onClose }: TaskDetailProps) {
  const { api, store } = useDashboard();
  useStoreVersion(store);
  const actions = useTaskActions();
  const live = store.tasks.get(taskKey);
  const [fetched, setFetched] = useState<TaskDetailData | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  // Fetched on open and again when the task moves on; logs keep arriving through the store.
  const liveState = live?.state;
  const liveAttempts = live?.attempts;
  useEffect(() => {
    let current = true;
    api.taskDetail({ key: taskKey }).then(
      (detail) => {
        if (!current) return;
        setFetched(detail);
        setProblem(null);
      },
      (error: unknown) => current && setProblem(describeError(error)),
    );
    return () => {
      current = false;
    };
  }, [api, taskKey, liveState, liveAttempts]);

  // The live record has no result (views fetch it); the fetched one is refreshed as the task moves on.
  const detail = fetched?.task.key === taskKey ? fetched.task : undefined;
  const task: TaskRecord | undefined = live ? { ...live, result: detail?.result ?? null } : detail;
  const attempts: TaskAttempt[] = store.attempts.get(taskKey) ?? fetched?.attempts ?? [];
  const logs = mergeLogs(fetched?.task.key === taskKey ? fetched.logs : [], store.logs.get(taskKey) ?? []);
  const drawer = useRef<HTMLElement>(null);

  // Keyboard: focus moves into the drawer, Escape closes it, and focus goes back where it was.
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    drawer.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      if (opener?.isConnected) opener.focus();
    };
  }, [onClose]);

  return (
    <aside className="drawer" aria-label="Task detail" ref={drawer} tabIndex={-1}>
      <header className="panel-header">
        <h2>
          Task <span className="mono">{task?.id ?? taskKey}</span>
        </h2>
        <div className="toolbar">
          {task && canCancel(task.state) && (
            <button type="button" onClick={() => actions.cancel(taskKey)}>
              Cancel
            </button>
          )}
          {task && canRetry(task.state) && (
            <button type="button" onClick={() => actions.retry(taskKey)}>
              Retry
            </button>
          )}
          <button type="button" aria-label="Close task detail" title="Close (Escape)" onClick={onClose}>
            ×
          </button>
        </div>
      </header>
      {problem && <p className="error-text">Could not load the task: {problem}</p>}
      {!task && !problem && <p className="muted">Loading…</p>}
      {task && <TaskBody task={task} attempts={attempts} logs={logs} jobName={store.jobs.get(task.jobId)?.name} jobCreatedAt={store.jobs.get(task.jobId)?.createdAt} />}
    </aside>
  );
}

interface TaskBodyProps {
  task: TaskRecord;
  attempts: TaskAttempt[];
  logs: TaskLogLine[];
  jobName?: string;
  /** When the job was admitted: when each of its tasks was first queued. */
  jobCreatedAt?: number;
}

function TaskBody({ task, attempts, logs, jobName, jobCreatedAt }: TaskBodyProps) {
  const now = Date.now();
  const times = queueTimes(task, attempts, jobCreatedAt);
  return (
    <div className="detail-body">
      <dl className="facts">
        <dt>state</dt>
        <dd>
          <span className="state-badge" style={{ '--state-color': STATE_COLORS[task.state] } as React.CSSProperties} data-testid="detail-state">
            {stateLabel(task.state)}
          </span>
        </dd>
        <dt>kind</dt>
        <dd className="mono">{task.kind}</dd>
        <dt>job</dt>
        <dd>
          {jobName === undefined ? task.jobId : closeDirectionControls(jobName)} <span className="mono muted">{task.jobId}</span>
        </dd>
        <dt>queued</dt>
        <dd>{times.firstQueuedAt === null ? '–' : formatClock(times.firstQueuedAt, true)}</dd>
        {times.requeuedAt !== null && (
          <>
            <dt>queued again</dt>
            <dd>
              {formatClock(times.requeuedAt, true)} <span className="muted">(for attempt {times.forAttempt})</span>
            </dd>
          </>
        )}
        <dt>{times.startedAttempt > 1 ? `started (attempt ${times.startedAttempt})` : 'started'}</dt>
        <dd>{task.startedAt === null ? '–' : formatClock(task.startedAt, true)}</dd>
        <dt>finished</dt>
        <dd>{task.finishedAt === null ? '–' : formatClock(task.finishedAt, true)}</dd>
        <dt>{times.forAttempt > 1 ? `wait (attempt ${times.forAttempt})` : 'wait'}</dt>
        <dd>{formatDuration(waitOf(task, now))}</dd>
        <dt>run</dt>
        <dd>{formatDuration(durationOf(task, now))}</dd>
        <dt>retries</dt>
        <dd>
          {task.attempts} attempt{task.attempts === 1 ? '' : 's'} of {task.retries + 1}
          {task.timeoutMs !== null ? ` · timeout ${formatDuration(task.timeoutMs)}` : ''}
        </dd>
      </dl>

      <h3>Progress</h3>
      <div className="progress-line">
        <progress max={1} value={task.progress ?? (task.state === 'succeeded' ? 1 : 0)} aria-label="Task progress" />
        <span>{task.progress === null ? (task.state === 'succeeded' ? '100%' : 'not reported') : `${Math.round(task.progress * 100)}%`}</span>
        {task.progressMessage && <span className="muted"> {task.progressMessage}</span>}
      </div>

      {task.error && (
        <>
          <h3>Error</h3>
          <div className="error-box" role="alert">
            <div>
              <span className="mono">{task.error.code}</span> {task.error.message}
            </div>
            <ErrorCodeHint code={task.error.code} />
            {task.error.stack && <pre className="stack">{task.error.stack}</pre>}
          </div>
        </>
      )}

      <h3>Input</h3>
      <pre className="json">{previewJson(task.input)}</pre>

      <h3>Attempts</h3>
      {attempts.length === 0 ? (
        <p className="muted">Not started yet.</p>
      ) : (
        <table className="small-table">
          <thead>
            <tr>
              <th>#</th>
              <th>worker</th>
              <th>started</th>
              <th>ran</th>
              <th>outcome</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.attempt}>
                <td>{a.attempt}</td>
                <td className="mono">{workerLabel(a.worker)}</td>
                <td>{formatClock(a.startedAt, true)}</td>
                <td>{formatDuration((a.finishedAt ?? now) - a.startedAt)}</td>
                <td>{a.finishedAt === null ? stateLabel(task.state) : stateLabel(a.state)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3>Result</h3>
      <ResultPreview task={task} />

      <h3>Logs</h3>
      {logs.length === 0 ? (
        <p className="muted">No log lines.</p>
      ) : (
        <ol className="logs">
          {logs.map((line, i) => (
            <li key={i} className={`log log-${line.level}`}>
              <span className="mono muted">{formatClock(line.at, true)}</span> <span className="log-level">{line.level}</span> {line.message}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** What a task's end left instead of a result. */
const NO_RESULT: Partial<Record<TaskRecord['state'], string>> = {
  failed: 'No result: the task failed (see the error above).',
  timed_out: 'No result: the task timed out.',
  cancelled: 'No result: the task was cancelled.',
  skipped: 'No result: the task did not run, a dependency did not succeed.',
  interrupted: 'No result: the task was interrupted; resume finishes it.',
};

function ResultPreview({ task }: { task: TaskRecord }) {
  if (task.state !== 'succeeded' && (task.result === null || task.result === undefined)) {
    return <p className="muted">{NO_RESULT[task.state] ?? 'No result yet.'}</p>;
  }
  const table = resultTable(task.result);
  if (!table) return <pre className="json">{previewJson(task.result)}</pre>;
  return (
    <div className="result-table-wrap">
      {table.rest && Object.keys(table.rest).length > 0 && <pre className="json">{previewJson(table.rest)}</pre>}
      <table className="small-table result-table" aria-label="Result rows">
        <thead>
          <tr>
            {table.columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((row, i) => (
            <tr key={i}>
              {table.columns.map((c, j) => (
                <td key={c}>{cellText(row[j])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {table.total > table.rows.length && (
        <p className="muted">
          Showing {table.rows.length.toLocaleString('en-US')} of {table.total.toLocaleString('en-US')} rows.
        </p>
      )}
    </div>
  );
}

/**
 * A retried task's record holds the queue time of its latest attempt; the first queue time is
 * its job's admission (every task is queued then), which comes before the first attempt.
 */
export function queueTimes(task: TaskRecord, attempts: readonly TaskAttempt[], jobCreatedAt: number | undefined) {
  const startedAttempt = Math.max(task.attempts, attempts.length);
  const firstStart = attempts[0]?.startedAt ?? null;
  const lastStart = attempts.at(-1)?.startedAt ?? null;
  // Queued after its latest attempt started: it waits for the next one.
  const forAttempt = lastStart !== null && task.queuedAt > lastStart ? attempts.length + 1 : Math.max(startedAttempt, 1);
  if (forAttempt <= 1) return { firstQueuedAt: task.queuedAt, requeuedAt: null, forAttempt, startedAttempt };
  const admitted = jobCreatedAt !== undefined && (firstStart === null || jobCreatedAt <= firstStart) ? jobCreatedAt : null;
  return { firstQueuedAt: admitted, requeuedAt: task.queuedAt, forAttempt, startedAttempt };
}

/** The host's log lines, then the ones streamed since, without repeats. */
function mergeLogs(fetched: TaskLogLine[], streamed: TaskLogLine[]): TaskLogLine[] {
  if (streamed.length === 0) return fetched;
  const seen = new Set(fetched.map((l) => `${l.at}|${l.level}|${l.message}`));
  return [...fetched, ...streamed.filter((l) => !seen.has(`${l.at}|${l.level}|${l.message}`))].sort((a, b) => a.at - b.at);
}

/** What the code means and whether retrying can help, for the codes Threadline itself gives. */
function ErrorCodeHint({ code }: { code: string }) {
  const info = describeTaskErrorCode(code);
  if (!info) return null;
  return (
    <p className="muted error-hint">
      {info.meaning}. {info.retryHelps ? 'A retry may help.' : 'A retry as it is will not help.'}
    </p>
  );
}
