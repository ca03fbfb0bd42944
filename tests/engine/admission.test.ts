import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.js';
import { JobStore, STORE_FILE } from '../../electron/engine/job-store.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../electron/engine/store-migrations.js';
import { exited, startCli } from '../support/cli.js';
import { jobSpec, makeEngine, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { fakeEngine } from './fake-executor.js';

function sqlite(db: string, sql: string): string {
  return execFileSync('sqlite3', ['-batch', db, sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const echoes = (n: number, extra: (i: number) => Record<string, unknown> = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i, ...extra(i) }));

/** Counts turns of the event loop until `until` settles. */
async function loopTurnsDuring(until: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  void until.finally(() => (done = true)).catch(() => {});
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  return turns;
}

describe('admission of big jobs', () => {
  it('admits 50,000 tasks in slices: the loop turns meanwhile, and no task starts before every task is stored', async () => {
    const dataDir = tempDir();
    const engine = makeEngine({ dataDir });
    const db = join(dataDir, STORE_FILE);
    let storedWhenFirstStarted: string | null = null;
    engine.on('task', (task) => {
      if (task.state === 'running' && storedWhenFirstStarted === null) {
        storedWhenFirstStarted = sqlite(db, `SELECT admitted || ':' || (SELECT count(*) FROM tasks WHERE job_id = '${task.jobId}') FROM jobs WHERE id = '${task.jobId}'`);
      }
    });
    const submitted = engine.submitJob(jobSpec(echoes(50_000)), '/');
    // Thousands of slices would be too many to be sure of; dozens show it never held the loop throughout.
    expect(await loopTurnsDuring(submitted)).toBeGreaterThan(20);
    const job = await submitted;
    expect(job.taskCount).toBe(50_000);
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    expect(storedWhenFirstStarted).toBe('1:50000');
    await engine.shutdown();
    expect(sqlite(db, `SELECT count(*) FROM tasks WHERE job_id = '${job.id}' AND state = 'succeeded'`)).toBe('50000');
  });

  it('queues a task whose dependency ended before it went live, once', async () => {
    // On fake executors a task ends when the test says: the first ends at the first turn the
    // admission gives the loop after handing it over, while the later slices are still to go live.
    const { engine, pool } = fakeEngine({ poolCapacity: 1000, handOverPerFill: true });
    // Thousands of tasks go live in many slices of a few milliseconds, whatever the machine.
    const tasks = echoes(10_000);
    tasks[tasks.length - 1] = { ...tasks[tasks.length - 1]!, dependsOn: ['t0'] } as (typeof tasks)[number];
    let lastLive = false;
    engine.on('task', (task) => {
      if (task.id === 't9999') lastLive = true;
    });
    const submitted = engine.submitJob(jobSpec(tasks), '/');
    while (!pool.runningIds.includes('t0')) await new Promise((resolve) => setImmediate(resolve));
    pool.succeed('t0');
    expect(lastLive, 'the dependent was live before its dependency ended').toBe(false);
    const job = await submitted;
    // The rest run to their ends as the fake pool takes them.
    while (engine.job(job.id)?.state === 'running') {
      for (const id of pool.runningIds) pool.succeed(id);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    const last = engine.task(`${job.id}:t9999`)!;
    expect(last).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(pool.handed.filter((id) => id === 't9999')).toHaveLength(1);
    expect(last.startedAt!).toBeGreaterThanOrEqual(engine.task(`${job.id}:t0`)!.finishedAt!);
  });

  it('refuses a bad job before storing anything', async () => {
    const dataDir = tempDir();
    const engine = makeEngine({ dataDir });
    // The validator refuses this too; the engine does not count on it.
    const spec = jobSpec(echoes(5_000));
    spec.tasks.push({ ...spec.tasks[0]!, id: 'x', dependsOn: ['nowhere'] });
    await expect(engine.submitJob(spec, '/')).rejects.toThrow(/task x depends on unknown task nowhere/);
    expect(sqlite(join(dataDir, STORE_FILE), 'SELECT count(*) FROM jobs')).toBe('0');
    expect(engine.jobs()).toEqual([]);
  });

  it('a shutdown during admission refuses the job and leaves nothing of it in the store', async () => {
    const dataDir = tempDir();
    const engine = new Engine({ dataDir, poolSize: 1 });
    const submitted = engine.submitJob(jobSpec(echoes(100_000)), '/');
    const refused = expect(submitted).rejects.toThrow(/the engine is shutting down/);
    await new Promise((resolve) => setImmediate(resolve));
    await engine.shutdown({ deadlineMs: 1000 });
    await refused;
    const db = join(dataDir, STORE_FILE);
    expect(sqlite(db, 'SELECT count(*) FROM jobs')).toBe('0');
    expect(sqlite(db, 'SELECT count(*) FROM tasks')).toBe('0');
  });

  it('removes what a crash left of a half-stored job on the next open, and readers never see it', () => {
    const dataDir = tempDir();
    const store = new JobStore(dataDir);
    const job = { id: 'half', name: 'half', state: 'running', concurrency: null, onFailure: 'continue', baseDir: '/', createdAt: Date.now(), finishedAt: null, taskCount: 3 } as const;
    store.beginJob(job);
    const task = (id: string, seq: number) => ({
      key: `half:${id}`, jobId: 'half', id, seq, kind: 'demo.echo', input: {}, priority: 0, timeoutMs: null, retries: 0, retryBackoffMs: 0,
      dependsOn: [], state: 'queued' as const, attempts: 0, queuedAt: 0, startedAt: null, finishedAt: null, worker: null, progress: null,
      progressMessage: null, error: null, result: null,
    });
    store.insertTasks('half', [task('a', 0), task('b', 1)]);
    expect(store.listJobs()).toEqual([]);
    expect(store.getJob('half')).toBeNull();
    store.close();

    const engine = makeEngine({ dataDir });
    expect(engine.job('half')).toBeNull();
    const db = join(dataDir, STORE_FILE);
    expect(sqlite(db, 'SELECT count(*) FROM jobs')).toBe('0');
    expect(sqlite(db, 'SELECT count(*) FROM tasks')).toBe('0');
  });

  it('SIGKILL while the CLI stores a 100,000-task job: the next start finds the store intact and the job gone', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const jobFile = join(dir, 'big.json');
    writeFileSync(jobFile, JSON.stringify({ name: 'big', tasks: echoes(100_000, () => ({ dependsOn: ['gate'] })).concat([{ id: 'gate', kind: 'demo.block', ms: 60_000 } as never]) }));
    const child = startCli(['run', jobFile, '--data-dir', dataDir, '--workers', '1']);
    onCleanup(() => void child.kill('SIGKILL'));
    const db = join(dataDir, STORE_FILE);
    // Killed once the store holds part of the job, well before it is all there (each 500 more rows are a transaction).
    await waitFor(() => {
      try {
        const stored = Number(sqlite(db, 'SELECT count(*) FROM tasks WHERE job_id IN (SELECT id FROM jobs WHERE admitted = 0)'));
        return stored > 0 && stored < 90_000;
      } catch {
        return false; // the store is not created yet, or is being migrated
      }
    }, 60_000, 'part of the job in the store');
    child.kill('SIGKILL');
    await exited(child);

    const engine = makeEngine({ dataDir });
    expect(sqlite(db, 'PRAGMA integrity_check')).toBe('ok');
    expect(sqlite(db, 'SELECT count(*) FROM jobs')).toBe('0');
    expect(sqlite(db, 'SELECT count(*) FROM tasks')).toBe('0');
    expect(engine.resumeInterrupted()).toEqual([]);
  });
});

describe('the store schema', () => {
  it('upgrades a store of the previous version in place, keeping its jobs', () => {
    const dataDir = tempDir();
    const db = join(dataDir, STORE_FILE);
    const previous = SCHEMA_VERSION - 1;
    sqlite(db, `${MIGRATIONS.slice(0, previous).join('\n')} PRAGMA user_version = ${previous};`);
    sqlite(
      db,
      `INSERT INTO jobs (id, name, state, concurrency, on_failure, base_dir, created_at, finished_at, task_count)
       VALUES ('old', 'from before', 'succeeded', NULL, 'continue', '/', 1, 2, 1);
       INSERT INTO tasks (job_id, id, seq, kind, input, priority, timeout_ms, retries, retry_backoff_ms, depends_on, state, attempts, queued_at)
       VALUES ('old', 'a', 0, 'demo.echo', '{}', 0, NULL, 0, 0, '[]', 'succeeded', 1, 1);`,
    );
    const engine = makeEngine({ dataDir });
    expect(sqlite(db, 'PRAGMA user_version')).toBe(String(SCHEMA_VERSION));
    expect(engine.job('old')).toMatchObject({ id: 'old', name: 'from before', state: 'succeeded', taskCount: 1 });
    expect(engine.tasksOfJob('old')).toHaveLength(1);
  });
});
