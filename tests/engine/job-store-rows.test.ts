import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobRecord, TaskAttempt, TaskRecord } from '../../contract/records.js';
import { JobStore, STORE_FILE, type TaskChange } from '../../electron/engine/job-store.js';
import { sqlite3Json } from '../reliability/sqlite-cli.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';

const N = 70;

function jobRecord(id: string, taskCount: number): JobRecord {
  return { id, name: 'rows', state: 'running', concurrency: null, onFailure: 'continue', baseDir: '/', createdAt: 1, finishedAt: null, taskCount };
}

/** Tasks whose every column differs from row to row, so a value put in the wrong row or column shows. */
function taskRecords(jobId: string, n: number): Array<TaskRecord & { seq: number }> {
  return Array.from({ length: n }, (_, i) => ({
    key: `${jobId}:t${i}`,
    jobId,
    id: `t${i}`,
    seq: 1000 + i,
    kind: i % 2 === 0 ? 'demo.echo' : 'demo.block',
    input: i % 2 === 0 ? { value: `v${i}` } : { ms: i },
    priority: i - 10,
    timeoutMs: i % 3 === 0 ? null : 100 + i,
    retries: i % 5,
    retryBackoffMs: 10 * i,
    dependsOn: i === 0 ? [] : [`t${i - 1}`],
    ...(i % 4 === 0 ? { runOn: 'local' as const } : {}),
    state: 'queued',
    attempts: 0,
    queuedAt: 500 + i / 4,
    startedAt: null,
    finishedAt: null,
    worker: null,
    progress: null,
    progressMessage: null,
    error: null,
    result: null,
  }));
}

function openStore() {
  const dataDir = tempDir();
  const store = new JobStore(dataDir);
  onCleanup(() => store.close());
  const file = join(dataDir, STORE_FILE);
  return { store, read: <Row>(sql: string) => sqlite3Json<Row>(file, sql, { readonly: true }) };
}

interface TaskRowRead {
  id: string;
  seq: number;
  kind: string;
  input: string;
  priority: number;
  timeout_ms: number | null;
  retries: number;
  retry_backoff_ms: number;
  depends_on: string;
  state: string;
  attempts: number;
  queued_at: number;
  run_on: string | null;
}

describe("the job store's task and attempt rows", () => {
  it(`stores every column of ${N} tasks in their own rows, a job stored in one call or in slices alike (read back by the sqlite3 shell)`, () => {
    const { store, read } = openStore();
    const whole = taskRecords('j-whole', N);
    store.insertJob(jobRecord('j-whole', N), whole);
    const sliced = taskRecords('j-sliced', N);
    store.beginJob(jobRecord('j-sliced', N));
    store.insertTasks('j-sliced', sliced.slice(0, 40));
    store.insertTasks('j-sliced', sliced.slice(40));
    store.admitJob('j-sliced');
    for (const [jobId, records] of [['j-whole', whole], ['j-sliced', sliced]] as const) {
      const rows = read<TaskRowRead>(
        `SELECT id, seq, kind, input, priority, timeout_ms, retries, retry_backoff_ms, depends_on, state, attempts, queued_at, run_on FROM tasks WHERE job_id = '${jobId}' ORDER BY seq`,
      );
      expect(rows).toEqual(
        records.map((t) => ({
          id: t.id,
          seq: t.seq,
          kind: t.kind,
          input: JSON.stringify(t.input),
          priority: t.priority,
          timeout_ms: t.timeoutMs,
          retries: t.retries,
          retry_backoff_ms: t.retryBackoffMs,
          depends_on: JSON.stringify(t.dependsOn),
          state: 'queued',
          attempts: 0,
          queued_at: t.queuedAt,
          run_on: t.runOn ?? null,
        })),
      );
      expect(store.tasksOfJob(jobId)).toEqual(records);
    }
  });

  it('stores none of a slice of tasks one of which breaks a constraint: a slice is one transaction', () => {
    const { store, read } = openStore();
    const records = taskRecords('j-dup', N);
    // t40 twice.
    records[45] = { ...records[45]!, id: 't40', key: 'j-dup:t40' };
    store.beginJob(jobRecord('j-dup', N));
    expect(() => store.insertTasks('j-dup', records)).toThrow(/UNIQUE constraint failed: tasks.job_id, tasks.id/);
    expect(read<{ n: number }>("SELECT count(*) AS n FROM tasks WHERE job_id = 'j-dup'")).toEqual([{ n: 0 }]);
  });

  it(`writes ${N} attempts with their tasks' ends, each row as given, a later row of an attempt over an earlier one (read back by the sqlite3 shell)`, () => {
    const { store, read } = openStore();
    const records = taskRecords('j-a', N);
    store.insertJob(jobRecord('j-a', N), records);
    const job = { id: 'j-a' };
    const changes: TaskChange[] = records.map((t, i) => ({
      job, id: t.id, state: 'succeeded', attempts: 1, queuedAt: t.queuedAt, startedAt: 600 + i, finishedAt: 700 + i,
      worker: `pool-${i % 2}`, progress: null, error: null, result: { echoed: i },
    }));
    const attempt = (i: number, state: TaskAttempt['state'], finishedAt: number | null): [TaskAttempt, { job: { id: string }; id: string }] => [
      { attempt: 1, startedAt: 600 + i, finishedAt, worker: `pool-${i % 2}`, state },
      { job, id: `t${i}` },
    ];
    // First write: every task's attempt open, t3's twice in the same call (the later one wins).
    const opened = records.map((_, i) => attempt(i, 'running', null));
    opened.splice(10, 0, attempt(3, 'failed', 650));
    store.saveChanges([], [], opened);
    expect(read<{ state: string; finished_at: number }>("SELECT state, finished_at FROM attempts WHERE task_id = 't3'")).toEqual([{ state: 'failed', finished_at: 650 }]);
    // Second write: the ends, over the rows written before.
    store.saveChanges([], changes, records.map((_, i) => attempt(i, 'succeeded', 700 + i)));
    const attempts = read<{ task_id: string; attempt: number; started_at: number; finished_at: number; worker: string; state: string }>(
      "SELECT task_id, attempt, started_at, finished_at, worker, state FROM attempts WHERE job_id = 'j-a' ORDER BY started_at",
    );
    expect(attempts).toEqual(records.map((t, i) => ({ task_id: t.id, attempt: 1, started_at: 600 + i, finished_at: 700 + i, worker: `pool-${i % 2}`, state: 'succeeded' })));
    const tasks = read<{ id: string; state: string; finished_at: number; result: string }>("SELECT id, state, finished_at, result FROM tasks WHERE job_id = 'j-a' ORDER BY seq");
    expect(tasks).toEqual(records.map((t, i) => ({ id: t.id, state: 'succeeded', finished_at: 700 + i, result: JSON.stringify({ echoed: i }) })));
    expect(store.attemptsOfJob('j-a').get('t69')).toEqual([{ attempt: 1, startedAt: 669, finishedAt: 769, worker: 'pool-1', state: 'succeeded' }]);
  });
});
