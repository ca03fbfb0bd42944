/**
 * The SQL of schedules: the `schedules` and `schedule_runs` tables of the job store. Used on
 * the connection of a running host's engine, or on one of its own by the CLI when no host runs
 * (SQLite's locking keeps the two apart; a host re-reads the table on every tick).
 */
import type Database from 'better-sqlite3';
import type { JobSpec } from '../../contract/job-spec.js';
import { nextDueAfter, type ScheduleRecord, type ScheduleRun, type ScheduleRunOutcome, type ScheduleSpec, type ScheduleTrigger } from '../../contract/schedule.js';

/**
 * A schedule as stored: its record's fields and how far it has been handled. What it runs is
 * read only when a run starts (`jobOf`): a job can be megabytes, and schedules are read every tick.
 */
export interface StoredSchedule {
  name: string;
  schedule: ScheduleSpec;
  paused: boolean;
  fileName: string;
  baseDir: string;
  createdAt: number;
  updatedAt: number;
  /** Every due time up to here has been run, skipped or let go of. */
  handledUntil: number;
}

interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string | null;
  catch_up: 'once' | 'none';
  overlap: 'skip' | 'allow';
  paused: number;
  file_name: string;
  base_dir: string;
  created_at: number;
  updated_at: number;
  handled_until: number;
}

const COLUMNS = 'name, cron, timezone, catch_up, overlap, paused, file_name, base_dir, created_at, updated_at, handled_until';

interface RunRow {
  due_at: number;
  at: number;
  trigger: ScheduleTrigger;
  outcome: ScheduleRunOutcome;
  job_id: string | null;
  note: string | null;
  job_state: string | null;
}

export class ScheduleStore {
  private readonly statements;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      all: db.prepare<[], ScheduleRow>(`SELECT ${COLUMNS} FROM schedules ORDER BY name`),
      one: db.prepare<[string], ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE name = ?`),
      job: db.prepare<[string], { spec: string; base_dir: string }>('SELECT spec, base_dir FROM schedules WHERE name = ?'),
      upsert: db.prepare(
        `INSERT INTO schedules (name, cron, timezone, catch_up, overlap, paused, spec, file_name, base_dir, created_at, updated_at, handled_until)
         VALUES (@name, @cron, @timezone, @catchUp, @overlap, 0, @spec, @fileName, @baseDir, @now, @now, @now)
         ON CONFLICT (name) DO UPDATE SET cron = @cron, timezone = @timezone, catch_up = @catchUp, overlap = @overlap, paused = 0,
           spec = @spec, file_name = @fileName, base_dir = @baseDir, updated_at = @now, handled_until = @now`,
      ),
      remove: db.prepare('DELETE FROM schedules WHERE name = ?'),
      setPaused: db.prepare('UPDATE schedules SET paused = ?, updated_at = ?, handled_until = ? WHERE name = ?'),
      setHandled: db.prepare('UPDATE schedules SET handled_until = ? WHERE name = ?'),
      insertRun: db.prepare('INSERT INTO schedule_runs (schedule, due_at, at, trigger, outcome, job_id, note) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      lastRun: db.prepare<[string], RunRow>(
        `SELECT r.due_at, r.at, r.trigger, r.outcome, r.job_id, r.note, j.state AS job_state
         FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.schedule = ? ORDER BY r.id DESC LIMIT 1`,
      ),
      runs: db.prepare<[string, number], RunRow>(
        `SELECT r.due_at, r.at, r.trigger, r.outcome, r.job_id, r.note, j.state AS job_state
         FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.schedule = ? ORDER BY r.id DESC LIMIT ?`,
      ),
      lastJobId: db.prepare<[string], { job_id: string }>(
        "SELECT job_id FROM schedule_runs WHERE schedule = ? AND outcome = 'started' ORDER BY id DESC LIMIT 1",
      ),
    };
  }

  list(): StoredSchedule[] {
    return this.statements.all.all().map(scheduleFromRow);
  }

  get(name: string): StoredSchedule | null {
    const row = this.statements.one.get(name);
    return row ? scheduleFromRow(row) : null;
  }

  /** The validated job a schedule runs (paths already resolved against `baseDir`), or null when it is gone. */
  jobOf(name: string): { spec: JobSpec; baseDir: string } | null {
    const row = this.statements.job.get(name);
    return row ? { spec: JSON.parse(row.spec) as JobSpec, baseDir: row.base_dir } : null;
  }

  /** Adds the schedule of a job, or replaces the one of that name. Says which it did. */
  put(spec: JobSpec & { schedule: ScheduleSpec }, fileName: string, baseDir: string, now: number): { replaced: boolean } {
    return this.db.transaction(() => {
      const replaced = this.statements.one.get(spec.name) !== undefined;
      this.statements.upsert.run({
        name: spec.name,
        cron: spec.schedule.cron,
        timezone: spec.schedule.timezone ?? null,
        catchUp: spec.schedule.catchUp,
        overlap: spec.schedule.overlap,
        spec: JSON.stringify(spec),
        fileName,
        baseDir,
        now,
      });
      return { replaced };
    }).immediate();
  }

  /** False when there was no such schedule. Its runs go with it; the jobs they started stay. */
  remove(name: string): boolean {
    return this.statements.remove.run(name).changes > 0;
  }

  /** Pausing and resuming both start afresh from `now`: the paused time's due times are not caught up. */
  setPaused(name: string, paused: boolean, now: number): boolean {
    return this.statements.setPaused.run(paused ? 1 : 0, now, now, name).changes > 0;
  }

  setHandledUntil(name: string, at: number): void {
    this.statements.setHandled.run(at, name);
  }

  recordRun(name: string, run: { dueAt: number; at: number; trigger: ScheduleTrigger; outcome: ScheduleRunOutcome; jobId?: string | null; note?: string | null }): void {
    this.statements.insertRun.run(name, run.dueAt, run.at, run.trigger, run.outcome, run.jobId ?? null, run.note ?? null);
  }

  /** The job the schedule started last, if any (to know whether it still runs). */
  lastJobId(name: string): string | null {
    return this.statements.lastJobId.get(name)?.job_id ?? null;
  }

  runs(name: string, limit = 50): ScheduleRun[] {
    return this.statements.runs.all(name, limit).map(runFromRow);
  }

  /** The schedule as a person sees it; `jobState` overrides the store's (a host knows its jobs better). */
  record(stored: StoredSchedule, now: number, jobState?: (jobId: string) => string | null): ScheduleRecord {
    const row = this.statements.lastRun.get(stored.name);
    const lastRun = row ? runFromRow(row) : null;
    if (lastRun?.jobId && jobState) lastRun.jobState = jobState(lastRun.jobId) ?? lastRun.jobState;
    return {
      name: stored.name,
      cron: stored.schedule.cron,
      timezone: stored.schedule.timezone ?? null,
      catchUp: stored.schedule.catchUp,
      overlap: stored.schedule.overlap,
      paused: stored.paused,
      fileName: stored.fileName,
      createdAt: stored.createdAt,
      updatedAt: stored.updatedAt,
      nextRunAt: stored.paused ? null : nextDueOrNull(stored.schedule, Math.max(stored.handledUntil, now)),
      lastRun,
    };
  }
}

/**
 * A schedule's next due time, or null when this machine cannot compute it: a row written where
 * its zone or cron was known (another machine, another version) must not break the whole list.
 */
export function nextDueOrNull(schedule: ScheduleSpec, after: number): number | null {
  try {
    return nextDueAfter(schedule, after);
  } catch {
    return null;
  }
}

function scheduleFromRow(row: ScheduleRow): StoredSchedule {
  return {
    name: row.name,
    schedule: { cron: row.cron, ...(row.timezone === null ? {} : { timezone: row.timezone }), catchUp: row.catch_up, overlap: row.overlap },
    paused: row.paused !== 0,
    fileName: row.file_name,
    baseDir: row.base_dir,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    handledUntil: row.handled_until,
  };
}

function runFromRow(row: RunRow): ScheduleRun {
  return { dueAt: row.due_at, at: row.at, trigger: row.trigger, outcome: row.outcome, jobId: row.job_id, jobState: row.job_state, note: row.note };
}
