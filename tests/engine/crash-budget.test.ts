import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { ApiHandlers, type ApiOutcome } from '../../electron/hosts/api-handlers.js';
import { jobSpec, tempDir } from '../support/engine-fixture.js';
import { MIGRATIONS } from '../../electron/engine/store-migrations.js';
import { sqlite3, sqlite3Json } from '../reliability/sqlite-cli.js';
import { dies, fakeEngine, settle } from './fake-executor.js';

/**
 * An engine that "dies" is simulated in-process: it is never shut down; its lock and store
 * connection are let go of as the operating system would, and a second engine opens the same
 * store, as the next process after a crash would.
 */
async function crashedWith(tasks: Array<Record<string, unknown>>, run: (pool: ReturnType<typeof fakeEngine>['pool']) => void | Promise<void>) {
  const dataDir = tempDir();
  const first = fakeEngine({ dataDir, poolCapacity: 2 });
  const job = await first.engine.submitJob(jobSpec(tasks), '/');
  await settle();
  await run(first.pool);
  // The write-behind store learns of what ended within a flush (5 ms here).
  await settle(40);
  dies(first.engine);
  return { dataDir, jobId: job.id };
}

function value<T>(outcome: ApiOutcome): T {
  if (!outcome.ok) throw new Error(`call failed: ${JSON.stringify(outcome.error)}`);
  return outcome.value as T;
}

describe('tasks on an executor when the process died', () => {
  it('share the suspicion when several were: each runs alone, then the rest as usual', async () => {
    const { dataDir, jobId } = await crashedWith(
      ['a', 'b', 'c', 'd'].map((id) => ({ id, kind: 'demo.echo' })),
      (pool) => expect(pool.runningIds).toEqual(['a', 'b']),
    );
    const next = fakeEngine({ dataDir, poolCapacity: 2 });
    expect(next.engine.interruptedOnOpen).toEqual([jobId]);
    expect(next.engine.resumeInterrupted([jobId])).toHaveLength(1);
    await settle();
    expect(next.pool.runningIds).toEqual(['a']);
    next.pool.succeed('a');
    await settle();
    expect(next.pool.runningIds).toEqual(['b']);
    next.pool.succeed('b');
    await settle();
    expect(next.pool.runningIds).toEqual(['c', 'd']);
    next.pool.succeed('c');
    next.pool.succeed('d');
    expect(await next.engine.waitForJob(jobId)).toMatchObject({ state: 'succeeded' });
  });

  it('charges the one task that was alone; out of budget it fails PROCESS_CRASHED and its dependents are skipped', async () => {
    const tasks = [
      { id: 'first', kind: 'demo.echo' },
      { id: 'poison', kind: 'demo.echo', dependsOn: ['first'] },
      { id: 'after', kind: 'demo.echo', dependsOn: ['poison'] },
      { id: 'other', kind: 'demo.echo', dependsOn: ['first'] },
    ];
    const { dataDir, jobId } = await crashedWith(tasks, async (pool) => {
      pool.succeed('first');
      await settle();
      pool.succeed('other');
      await settle();
      expect(pool.runningIds).toEqual(['poison']);
    });
    // Charged once; with a budget of 2 it runs again (alone), and dies again.
    const second = fakeEngine({ dataDir, crashBudget: 2 });
    second.engine.resumeInterrupted();
    await settle(40);
    expect(second.pool.handed).toEqual(['poison']);
    expect(sqlite3(join(dataDir, STORE_FILE), `SELECT crashes FROM task_crashes WHERE task_id = 'poison'`)).toBe('1');
    dies(second.engine);
    const third = fakeEngine({ dataDir, crashBudget: 2 });
    const [resumed] = third.engine.resumeInterrupted();
    expect(resumed).toMatchObject({ id: jobId });
    expect(await third.engine.waitForJob(jobId)).toMatchObject({ state: 'failed' });
    expect(third.pool.handed).toEqual([]);
    expect(third.engine.task(`${jobId}:poison`)).toMatchObject({
      state: 'failed',
      error: { code: 'PROCESS_CRASHED', message: 'the process died 2 times while this task ran; it is not run again (crash budget 2)' },
    });
    expect(third.engine.task(`${jobId}:after`)).toMatchObject({ state: 'skipped', error: { code: 'DEPENDENCY_NOT_MET' } });
    // A dependency that had succeeded is never run again by a resume.
    expect(third.engine.task(`${jobId}:first`)).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(second.pool.handed).not.toContain('first');
  });

  it('an interrupted job no engine resumed is cancelled through the dashboard API: its unfinished tasks end cancelled', async () => {
    const { dataDir, jobId } = await crashedWith(
      [{ id: 'done', kind: 'demo.echo' }, { id: 'running', kind: 'demo.echo' }, { id: 'waiting', kind: 'demo.echo', dependsOn: ['running'] }],
      async (pool) => {
        pool.succeed('done');
        await settle();
      },
    );
    const { engine } = fakeEngine({ dataDir });
    const api = new ApiHandlers(engine, { defaultBaseDir: tempDir() });
    expect(value(await api.call('cancelJob', { jobId }))).toEqual({ cancelled: 2 });
    expect(engine.job(jobId)).toMatchObject({ state: 'cancelled' });
    expect(engine.tasksOfJob(jobId).map((task) => `${task.id}=${task.state}`)).toEqual(['done=succeeded', 'running=cancelled', 'waiting=cancelled']);
    expect(value(await api.call('cancelJob', { jobId }))).toEqual({ cancelled: 0 });
    expect(engine.resumeInterrupted()).toEqual([]);
    expect(await api.call('cancelJob', { jobId: 'j-nope' })).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'no job "j-nope" in this engine' } });
  });
  it('marks left in a store of schema 7 (a row per task) are charged the same after its upgrade', () => {
    const dataDir = tempDir();
    const file = join(dataDir, STORE_FILE);
    // Written by the shell as schema 7 left it: two tasks of a job on the pool when the process died.
    const task = (id: string) =>
      `INSERT INTO tasks (job_id, id, seq, kind, input, priority, retries, retry_backoff_ms, depends_on, state, attempts, queued_at) VALUES ('j-old', '${id}', 0, 'demo.echo', '{}', 0, 0, 0, '[]', 'running', 1, 1);`;
    sqlite3(file, [
      ...MIGRATIONS.slice(0, 7),
      'PRAGMA user_version = 7;',
      "INSERT INTO jobs (id, name, state, on_failure, base_dir, created_at, task_count) VALUES ('j-old', 'old', 'running', 'continue', '/', 1, 2);",
      task('a'),
      task('b'),
      "INSERT INTO task_runs (job_id, task_id) VALUES ('j-old', 'a'), ('j-old', 'b');",
    ].join('\n'));
    const { engine } = fakeEngine({ dataDir });
    expect(engine.interruptedOnOpen).toEqual(['j-old']);
    expect(sqlite3Json(file, 'SELECT task_id, crashes, suspect FROM task_crashes ORDER BY task_id')).toEqual([
      { task_id: 'a', crashes: 0, suspect: 1 },
      { task_id: 'b', crashes: 0, suspect: 1 },
    ]);
    expect(sqlite3(file, 'SELECT count(*) FROM task_runs')).toBe('0');
    expect(sqlite3(file, "SELECT count(*) FROM sqlite_master WHERE name = 'tasks_state'")).toBe('0');
  });
});
