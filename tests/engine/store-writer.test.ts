import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TaskAttempt } from '../../contract/records.js';
import type { ThreadlineError } from '../../electron/engine/errors.js';
import { Job } from '../../electron/engine/job.js';
import { JobStore, STORE_FILE } from '../../electron/engine/job-store.js';
import { StoreWriter } from '../../electron/engine/store-writer.js';
import { Task } from '../../electron/engine/task.js';
import { sqlite3 } from '../reliability/sqlite-cli.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { join } from 'node:path';

/** A store holding one job of `n` queued tasks (ids t0, t1, ...), the engine's tasks for them, and a writer. */
function setup(n: number, intervalMs = 1000) {
  const dataDir = tempDir();
  const store = new JobStore(dataDir);
  onCleanup(() => store.close());
  const job = new Job('j-1', 'test', null, 'continue', '/', 1);
  for (let i = 0; i < n; i++) job.tasks.push(new Task(job, `j-1:t${i}`, `t${i}`, i, 'demo.echo', 'pool', { value: i }, 0, null, 1, 0, [], 1));
  store.insertJob(job.toRecord(), job.tasks.map((task) => ({ ...task.toRecord(), seq: task.seq })));
  const failures: ThreadlineError[] = [];
  let recoveries = 0;
  const writer = new StoreWriter(store, intervalMs, { failed: (error) => failures.push(error), recovered: () => recoveries++ });
  const db = join(dataDir, STORE_FILE);
  return { store, job, writer, failures, recoveries: () => recoveries, sql: (query: string) => sqlite3(db, query) };
}

function tryOf(task: Task, state: TaskAttempt['state'] = 'running'): TaskAttempt {
  const attempt: TaskAttempt = { attempt: task.attempts + 1, startedAt: 10, finishedAt: null, worker: 'w1', state };
  task.attempts++;
  task.addAttempt(attempt);
  return attempt;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the store writer', () => {
  it('holds a task marked many times once, and writes its latest state and its newest attempt (read back by the sqlite3 shell)', () => {
    const { job, writer, sql } = setup(2);
    const [a, b] = job.tasks as [Task, Task];
    const attempt = tryOf(a);
    writer.attempt(a, attempt);
    a.state = 'running';
    writer.task(a);
    attempt.state = 'succeeded';
    attempt.finishedAt = 20;
    writer.attempt(a, attempt);
    a.state = 'succeeded';
    a.result = { value: 0 };
    writer.task(a);
    writer.task(b);
    expect(writer.pending).toBe(2);
    writer.flush();
    expect(writer.pending).toBe(0);
    expect(sql("SELECT id, state, attempts, result FROM tasks ORDER BY id")).toBe('t0|succeeded|1|{"value":0}\nt1|queued|0|');
    expect(sql('SELECT task_id, attempt, finished_at, state FROM attempts')).toBe('t0|1|20.0|succeeded');
  });

  it("writes both tries of a task retried before its first try's end was written, the first as it ended", () => {
    const { job, writer, sql } = setup(1);
    const task = job.tasks[0]!;
    const first = tryOf(task);
    writer.attempt(task, first);
    first.state = 'failed';
    first.finishedAt = 15;
    writer.attempt(task, first);
    const second = tryOf(task);
    writer.attempt(task, second);
    writer.flush();
    expect(sql('SELECT attempt, finished_at, state FROM attempts ORDER BY attempt')).toBe('1|15.0|failed\n2||running');
  });

  it('never writes a try that was taken back before it began and before it was written', () => {
    const { job, writer, sql } = setup(1);
    const task = job.tasks[0]!;
    const announced = tryOf(task);
    writer.attempt(task, announced);
    task.attempts--;
    task.dropLastAttempt();
    writer.task(task);
    writer.flush();
    expect(sql('SELECT count(*) FROM attempts')).toBe('0');
    // The try that takes its number is the one written.
    const begun = tryOf(task);
    begun.startedAt = 12;
    writer.attempt(task, begun);
    writer.flush();
    expect(sql('SELECT attempt, started_at, state FROM attempts')).toBe('1|12.0|running');
  });

  it('writes an attempt when it opens and again when it ends as one row, every column of it updated (read back by the sqlite3 shell)', () => {
    const { job, writer, sql } = setup(2);
    const [a, b] = job.tasks as [Task, Task];
    const attempt = tryOf(a);
    writer.attempt(a, attempt);
    writer.attempt(b, tryOf(b));
    writer.flush();
    expect(sql('SELECT task_id, attempt, started_at, finished_at, worker, state FROM attempts ORDER BY task_id')).toBe('t0|1|10.0||w1|running\nt1|1|10.0||w1|running');
    // Its end as the worker measured it: start, worker and end all differ from what was written.
    attempt.startedAt = 11;
    attempt.worker = 'w2';
    attempt.finishedAt = 20;
    attempt.state = 'succeeded';
    writer.attempt(a, attempt);
    writer.flush();
    expect(sql('SELECT task_id, attempt, started_at, finished_at, worker, state FROM attempts ORDER BY task_id')).toBe('t0|1|11.0|20.0|w2|succeeded\nt1|1|10.0||w1|running');
  });

  it('a try written, then taken back, leaves its row to the next try of that number, written over whole', () => {
    const { job, writer, sql } = setup(1);
    const task = job.tasks[0]!;
    writer.attempt(task, tryOf(task));
    writer.flush();
    task.attempts--;
    task.dropLastAttempt();
    const next = tryOf(task);
    next.startedAt = 30;
    next.worker = 'w3';
    writer.attempt(task, next);
    writer.flush();
    expect(sql('SELECT attempt, started_at, finished_at, worker, state FROM attempts')).toBe('1|30.0||w3|running');
  });

  it('keeps what a failed write carried, with what was marked meanwhile, and writes all of it once the store takes writes again', () => {
    const { store, job, writer, failures, recoveries, sql } = setup(3);
    const [a, b, c] = job.tasks as [Task, Task, Task];
    const first = tryOf(a);
    writer.attempt(a, first);
    a.state = 'running';
    writer.task(a);
    writer.task(b);
    // A real refusal of SQLite on the writer's own connection, until it is dropped.
    store.db.exec("CREATE TEMP TRIGGER refuse BEFORE UPDATE ON tasks BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
    writer.flush();
    expect(failures.map((error) => error.code)).toEqual(['STORE_WRITE_FAILED']);
    expect(writer.pending).toBe(2);
    expect(sql('SELECT count(*) FROM attempts')).toBe('0');
    // Meanwhile the first try fails, a second begins, and another task changes.
    first.state = 'failed';
    first.finishedAt = 15;
    const second = tryOf(a);
    writer.attempt(a, second);
    c.state = 'cancelled';
    writer.task(c);
    store.db.exec('DROP TRIGGER refuse');
    writer.flush();
    expect(recoveries()).toBe(1);
    expect(writer.pending).toBe(0);
    expect(sql('SELECT id, state, attempts FROM tasks ORDER BY id')).toBe('t0|running|2\nt1|queued|0\nt2|cancelled|0');
    expect(sql('SELECT attempt, finished_at, state FROM attempts ORDER BY attempt')).toBe('1|15.0|failed\n2||running');
  });

  it('after a busy loop, writes in one turn what was marked since the last, beyond one slice, so it does not fall behind', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { job, writer, sql } = setup(1500, 100);
    for (const task of job.tasks) {
      task.state = 'cancelled';
      writer.task(task);
    }
    expect(writer.pending).toBe(1500);
    // The loop kept busy for 100 ms (work of the engine's): the writer may take half of that.
    const until = performance.now() + 100;
    while (performance.now() < until);
    // The first turn, and only it: a slice is 250 tasks at first.
    vi.advanceTimersByTime(100);
    expect(writer.pending).toBe(0);
    expect(sql("SELECT count(*) FROM tasks WHERE state = 'cancelled'")).toBe('1500');
  });
});
