import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { JobRecord, TaskAttempt, TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { JobState, TaskState } from '../../contract/task-states.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { chargeCrash } from './crash-ledger.js';
import { ThreadlineError } from './errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './store-migrations.js';
import { jobFromRow, taskFromRow, type JobRow, type StoredTask, type TaskRow } from './store-rows.js';
import { LOG_LINES_PER_TASK, withDroppedNote } from './task-logs.js';
import { openDatabase } from '../../shared/open-database.js';

export const STORE_FILE = 'threadline.db';

interface LogRow {
  task_id: string;
  n: number;
  at: number;
  level: TaskLogLine['level'];
  message: string;
}

/** A log line on its way to the store: `n` is its number in the task's whole log, from 1. */
export interface StoredLogLine {
  jobId: string;
  taskId: string;
  n: number;
  line: TaskLogLine;
}

function logLinesOf(jobId: string, taskId: string, rows: LogRow[]): TaskLogLine[] {
  const taskKey = `${jobId}:${taskId}`;
  const lines = rows.map((row) => ({ taskKey, at: row.at, level: row.level, message: row.message }));
  return withDroppedNote(taskKey, lines, rows.length > 0 ? rows[0]!.n - 1 : 0);
}

export interface JobFilter {
  state?: JobState;
  /** Text the job's name contains, in any case. */
  name?: string;
  limit: number;
}

/** SQLite's ways of saying that the disk under the store is full. */
const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'SQLITE_IOERR_SHMSIZE']);

export function isDiskFull(error: unknown): boolean {
  return DISK_FULL_CODES.has((error as { code?: string } | null)?.code ?? '');
}

/** A failed write of the store as people should read it, in one line: a full disk says so. */
export function storeWriteError(error: unknown, dataDir: string): ThreadlineError {
  if (error instanceof ThreadlineError) return error;
  const reason = (error as Error).message ?? String(error);
  if (isDiskFull(error)) {
    return new ThreadlineError('DISK_FULL', `the disk is full: the job store in ${dataDir} cannot be written (${reason})`, { cause: error });
  }
  return new ThreadlineError('STORE_WRITE_FAILED', `the job store in ${dataDir} cannot be written: ${reason}`, { cause: error });
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** Most tasks depend on nothing: their column is the same text. */
const dependenciesJson = (ids: readonly string[]): string => (ids.length === 0 ? '[]' : JSON.stringify(ids));

/** What a write of a task's state reads: the engine's live task is one, so no record is copied. */
export interface TaskChange {
  readonly job: { readonly id: string };
  readonly id: string;
  readonly state: TaskRecord['state'];
  readonly attempts: number;
  readonly queuedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly worker: string | null;
  readonly progress: number | null;
  readonly error: TaskRecord['error'];
  readonly result: unknown;
}

/** The SQL side of the job store. One connection, WAL, prepared statements. */
export class JobStore {
  readonly db: Database.Database;
  readonly file: string;
  private readonly statements;

  constructor(readonly dataDir: string, options: { readonly?: boolean } = {}) {
    try {
      if (!options.readonly) mkdirSync(dataDir, { recursive: true });
      this.file = join(dataDir, STORE_FILE);
      this.db = openDatabase(this.file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (error) {
      throw new ThreadlineError('DATA_DIR_UNUSABLE', `cannot open the job store in ${dataDir}: ${(error as Error).message}`, { cause: error });
    }
    try {
      this.db.pragma('busy_timeout = 5000');
      if (!options.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('foreign_keys = ON');
        this.migrate();
      } else if (this.version() > SCHEMA_VERSION) {
        throw this.tooNew();
      }
      this.statements = this.prepare();
    } catch (error) {
      this.db.close();
      // A full disk cannot even make the WAL's shared-memory file: one line, not a stack.
      throw storeWriteError(error, dataDir);
    }
  }

  private version(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private tooNew(): ThreadlineError {
    return new ThreadlineError('STORE_TOO_NEW', `the job store in ${this.dataDir} has schema version ${this.version()}; this Threadline knows up to ${SCHEMA_VERSION}`);
  }

  /**
   * Every pending step in one transaction, which reads the version under the write lock: two
   * processes opening a new store race here, and a reader (`threadline jobs`, the sqlite3 shell)
   * sees the schema before or after, never half of it.
   */
  private migrate(): void {
    this.db.transaction(() => {
      const version = this.version();
      if (version > SCHEMA_VERSION) throw this.tooNew();
      for (let step = version; step < SCHEMA_VERSION; step++) this.db.exec(MIGRATIONS[step]!);
      if (version !== SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }

  private prepare() {
    const db = this.db;
    return {
      setOwner: db.prepare('INSERT OR REPLACE INTO owner (id, pid, host, started_at) VALUES (1, ?, ?, ?)'),
      clearOwner: db.prepare('DELETE FROM owner WHERE id = 1 AND pid = ? AND host = ?'),
      insertJob: db.prepare(
        'INSERT INTO jobs (id, name, state, concurrency, on_failure, base_dir, created_at, finished_at, task_count, admitted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)',
      ),
      admitJob: db.prepare('UPDATE jobs SET admitted = 1 WHERE id = ?'),
      discardJob: db.prepare('DELETE FROM jobs WHERE id = ? AND admitted = 0'),
      discardUnadmitted: db.prepare('DELETE FROM jobs WHERE admitted = 0'),
      updateJob: db.prepare('UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?'),
      insertTask: db.prepare(
        `INSERT INTO tasks (job_id, id, seq, kind, input, priority, timeout_ms, retries, retry_backoff_ms, depends_on, state, attempts, queued_at, run_on)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateTask: db.prepare(
        `UPDATE tasks SET state = ?, attempts = ?, queued_at = ?, started_at = ?, finished_at = ?, worker = ?, progress = ?, error = ?, result = ?
         WHERE job_id = ? AND id = ?`,
      ),
      // An attempt is written when it opens and again when it ends: the second write updates the
      // row in place, where a REPLACE would delete it and insert it again.
      upsertAttempt: db.prepare(
        `INSERT INTO attempts (job_id, task_id, attempt, started_at, finished_at, worker, state) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, task_id, attempt) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at, worker = excluded.worker, state = excluded.state`,
      ),
      jobs: db.prepare<[number], JobRow>('SELECT * FROM jobs WHERE admitted = 1 ORDER BY created_at DESC, id DESC LIMIT ?'),
      job: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ? AND admitted = 1'),
      jobsInState: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE state = ? AND admitted = 1 ORDER BY created_at'),
      tasksOfJob: db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE job_id = ? ORDER BY seq'),
      attemptsOfJob: db.prepare<[string], { task_id: string; attempt: number; started_at: number; finished_at: number | null; worker: string | null; state: TaskState }>(
        'SELECT task_id, attempt, started_at, finished_at, worker, state FROM attempts WHERE job_id = ? ORDER BY task_id, attempt',
      ),
      stateCounts: db.prepare<[string], { state: TaskState; n: number }>('SELECT state, count(*) AS n FROM tasks WHERE job_id = ? GROUP BY state'),
      insertTelemetry: db.prepare('INSERT OR REPLACE INTO telemetry (at, sample) VALUES (?, ?)'),
      telemetryBetween: db.prepare<[number, number], { sample: string }>('SELECT sample FROM telemetry WHERE at BETWEEN ? AND ? ORDER BY at'),
      pruneTelemetry: db.prepare('DELETE FROM telemetry WHERE at < ?'),
      insertLog: db.prepare('INSERT OR REPLACE INTO task_logs (job_id, task_id, n, at, level, message) VALUES (?, ?, ?, ?, ?, ?)'),
      trimLogs: db.prepare('DELETE FROM task_logs WHERE job_id = ? AND task_id = ? AND n <= ?'),
      logsOfJob: db.prepare<[string], LogRow>('SELECT task_id, n, at, level, message FROM task_logs WHERE job_id = ? ORDER BY task_id, n'),
      logsOfTask: db.prepare<[string, string], LogRow>('SELECT task_id, n, at, level, message FROM task_logs WHERE job_id = ? AND task_id = ? ORDER BY n'),
      logCounts: db.prepare<[string], { task_id: string; n: number }>('SELECT task_id, max(n) AS n FROM task_logs WHERE job_id = ? GROUP BY task_id'),
    };
  }

  /** Names this process as the owner, for the refusals others get; the lock in `store-lock.ts` decides. */
  claimOwnership(): void {
    this.statements.setOwner.run(process.pid, hostname(), Date.now());
  }

  /** The row only names the owner in messages (the lock decides): a store that cannot be written keeps it. */
  releaseOwnership(): void {
    try {
      this.statements.clearOwner.run(process.pid, hostname());
    } catch {
      // A full disk: the next owner replaces the row.
    }
  }

  /**
   * After its owner died: every task it left running becomes `interrupted`, and so does its job.
   * Returns the ids of the jobs touched.
   */
  markInterrupted(): string[] {
    return this.db.transaction(() => {
      // A job whose admission a crash cut short was never accepted: its caller got no answer.
      this.statements.discardUnadmitted.run();
      chargeCrash(this.db);
      const jobs = this.statements.jobsInState.all('running').map((row) => row.id);
      this.db.prepare("UPDATE tasks SET state = 'interrupted', finished_at = NULL WHERE state IN ('running', 'cancelling')").run();
      this.db.prepare("UPDATE attempts SET state = 'interrupted' WHERE state IN ('running', 'cancelling')").run();
      this.db.prepare("UPDATE jobs SET state = 'interrupted' WHERE state = 'running'").run();
      return jobs;
    }).immediate();
  }

  /**
   * Stores a job in one transaction, admitted. A big job is stored with `beginJob`, one
   * `insertTasks` per slice and `admitJob`; until then readers do not see it.
   */
  insertJob(job: JobRecord, tasks: ReadonlyArray<TaskRecord & { seq: number }>): void {
    this.db.transaction(() => {
      this.beginJob(job);
      this.insertTasks(job.id, tasks);
      this.admitJob(job.id);
    })();
  }

  /** The job's row, not yet admitted: invisible to readers, and removed on the next open if it stays so. */
  beginJob(job: JobRecord): void {
    this.statements.insertJob.run(job.id, job.name, job.state, job.concurrency, job.onFailure, job.baseDir, job.createdAt, job.finishedAt, job.taskCount);
  }

  insertTasks(jobId: string, tasks: ReadonlyArray<TaskRecord & { seq: number }>): void {
    const insert = this.statements.insertTask;
    this.db.transaction(() => {
      for (const t of tasks) {
        insert.run(jobId, t.id, t.seq, t.kind, JSON.stringify(t.input), t.priority, t.timeoutMs, t.retries, t.retryBackoffMs, dependenciesJson(t.dependsOn), t.state, t.attempts, t.queuedAt, t.runOn ?? null);
      }
    })();
  }

  admitJob(jobId: string): void {
    this.statements.admitJob.run(jobId);
  }

  /** Removes a job whose admission was abandoned, with its tasks. */
  discardJob(jobId: string): void {
    this.statements.discardJob.run(jobId);
  }

  /** Writes the given changes in one transaction, as they are during this call. */
  saveChanges(
    jobs: Iterable<JobRecord>,
    tasks: Iterable<TaskChange>,
    attempts: Iterable<readonly [Readonly<TaskAttempt>, Pick<TaskChange, 'job' | 'id'>]>,
    telemetry: Iterable<TelemetrySample> = [],
    logs: Iterable<StoredLogLine> = [],
  ): void {
    const s = this.statements;
    this.db.transaction(() => {
      for (const sample of telemetry) s.insertTelemetry.run(sample.at, JSON.stringify(sample));
      this.saveLogs(logs);
      for (const t of tasks) {
        s.updateTask.run(t.state, t.attempts, t.queuedAt, t.startedAt, t.finishedAt, t.worker, t.progress, json(t.error), json(t.result), t.job.id, t.id);
      }
      for (const [a, task] of attempts) {
        s.upsertAttempt.run(task.job.id, task.id, a.attempt, a.startedAt, a.finishedAt, a.worker, a.state);
      }
      for (const j of jobs) s.updateJob.run(j.state, j.finishedAt, j.id);
    })();
  }

  /** Inserts log lines, then trims each task's log to its newest lines. */
  private saveLogs(logs: Iterable<StoredLogLine>): void {
    const s = this.statements;
    const newest = new Map<string, { jobId: string; taskId: string; n: number }>();
    for (const { jobId, taskId, n, line } of logs) {
      s.insertLog.run(jobId, taskId, n, line.at, line.level, line.message);
      const key = `${jobId}:${taskId}`;
      if ((newest.get(key)?.n ?? 0) < n) newest.set(key, { jobId, taskId, n });
    }
    for (const { jobId, taskId, n } of newest.values()) if (n > LOG_LINES_PER_TASK) s.trimLogs.run(jobId, taskId, n - LOG_LINES_PER_TASK);
  }

  /** A task's stored log lines, oldest first, after a note when earlier ones were dropped. */
  logsOfTask(jobId: string, taskId: string): TaskLogLine[] {
    return logLinesOf(jobId, taskId, this.statements.logsOfTask.all(jobId, taskId));
  }

  /** The stored log lines of every task of a job, by task id. */
  logsOfJob(jobId: string): Map<string, TaskLogLine[]> {
    const rows = new Map<string, LogRow[]>();
    for (const row of this.statements.logsOfJob.all(jobId)) {
      const list = rows.get(row.task_id) ?? [];
      list.push(row);
      rows.set(row.task_id, list);
    }
    return new Map([...rows].map(([taskId, list]) => [taskId, logLinesOf(jobId, taskId, list)]));
  }

  /** How many log lines each task of a job has written so far (a resumed task counts on from there). */
  logCountsOfJob(jobId: string): Map<string, number> {
    return new Map(this.statements.logCounts.all(jobId).map((row) => [row.task_id, row.n]));
  }

  listJobs(limit = 100): JobRecord[] {
    return this.statements.jobs.all(limit).map(jobFromRow);
  }

  /** The newest jobs in a state and/or whose name contains some text (any case). */
  findJobs(filter: JobFilter): JobRecord[] {
    const where = ['admitted = 1'];
    const args: Array<string | number> = [];
    if (filter.state) {
      where.push('state = ?');
      args.push(filter.state);
    }
    if (filter.name) {
      where.push("instr(lower(name), lower(?)) > 0");
      args.push(filter.name);
    }
    args.push(filter.limit);
    const rows = this.db.prepare<Array<string | number>, JobRow>(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args);
    return rows.map(jobFromRow);
  }

  getJob(id: string): JobRecord | null {
    const row = this.statements.job.get(id);
    return row ? jobFromRow(row) : null;
  }

  jobsInState(state: JobState): JobRecord[] {
    return this.statements.jobsInState.all(state).map(jobFromRow);
  }

  tasksOfJob(jobId: string): StoredTask[] {
    return this.statements.tasksOfJob.all(jobId).map(taskFromRow);
  }

  attemptsOfJob(jobId: string): Map<string, TaskAttempt[]> {
    const byTask = new Map<string, TaskAttempt[]>();
    for (const row of this.statements.attemptsOfJob.all(jobId)) {
      const list = byTask.get(row.task_id) ?? [];
      list.push({ attempt: row.attempt, startedAt: row.started_at, finishedAt: row.finished_at, worker: row.worker, state: row.state });
      byTask.set(row.task_id, list);
    }
    return byTask;
  }

  /** The newest jobs whose name or id contains `text` (any case). */
  searchJobs(text: string, limit = 100): JobRecord[] {
    const needle = text.toLowerCase();
    return this.db
      .prepare<[string, string, number], JobRow>(
        'SELECT * FROM jobs WHERE admitted = 1 AND (instr(lower(name), ?) > 0 OR instr(lower(id), ?) > 0) ORDER BY created_at DESC, id DESC LIMIT ?',
      )
      .all(needle, needle, limit)
      .map(jobFromRow);
  }

  stateCounts(jobId: string): Partial<Record<TaskState, number>> {
    const counts: Partial<Record<TaskState, number>> = {};
    for (const row of this.statements.stateCounts.all(jobId)) counts[row.state] = row.n;
    return counts;
  }

  telemetryBetween(from: number, to: number): TelemetrySample[] {
    // Samples stored before remote machines were sampled have none.
    return this.statements.telemetryBetween.all(from, to).map((row) => ({ machines: [], ...(JSON.parse(row.sample) as Omit<TelemetrySample, 'machines'>) }));
  }

  pruneTelemetry(olderThan: number): void {
    this.statements.pruneTelemetry.run(olderThan);
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
