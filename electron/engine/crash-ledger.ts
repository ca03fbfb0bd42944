import type Database from 'better-sqlite3';
import { isDiskFull } from './job-store.js';
import type { Task } from './task.js';

/** What the ledger knows of one task from earlier crashes. */
export interface CrashRecord {
  /** Crashes of the process while this task was the only one handed over: certainly its doing. */
  crashes: number;
  /** On an executor beside others at a crash: one of them may have done it. */
  suspect: boolean;
}

/**
 * The durable record of which tasks were handed to an executor when the process died. A task
 * is marked before it is handed over (one statement per batch, committed before any of it can
 * begin) and unmarked after its end, with the next hand-over's marks or within an interval,
 * whichever comes first. A crash leaves marked every task that may have killed the process, and
 * perhaps a few that ended after the last hand-over: these only share the suspicion. Each
 * suspect then runs alone, and only a crash during a run alone charges it.
 */
export class CrashLedger {
  private readonly statements;
  /** Tasks that ended and are still marked, by key. */
  private readonly ended = new Map<string, Task>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database.Database,
    /** How long ends are gathered before their marks are removed in one write. */
    private readonly unmarkAfterMs: number,
  ) {
    this.statements = {
      // One statement per batch, its rows as a JSON array of [jobId, taskId]: one short write.
      mark: db.prepare("INSERT OR IGNORE INTO task_runs (job_id, task_id) SELECT value ->> 0, value ->> 1 FROM json_each(?)"),
      unmark: db.prepare('DELETE FROM task_runs WHERE (job_id, task_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))'),
      ofJob: db.prepare<[string], { task_id: string; crashes: number; suspect: number }>(
        'SELECT task_id, crashes, suspect FROM task_crashes WHERE job_id = ?',
      ),
    };
  }

  /**
   * Before `tasks` are handed over: durable once this returns. The marks of tasks that ended
   * since the last write go in the same transaction, so a crash while these run blames only
   * what was on an executor with them (a task that just ended does not share the suspicion).
   */
  markHandedOver(tasks: readonly Task[]): void {
    if (!this.db.open) return;
    // Handed over again before its last end was written: its mark must stay.
    for (const task of tasks) this.ended.delete(task.key);
    const ended = this.takeEnded();
    const marks = tasks.map((task) => [task.job.id, task.id]);
    this.write(() => {
      if (ended.length > 0) this.statements.unmark.run(JSON.stringify(ended));
      this.statements.mark.run(JSON.stringify(marks));
    });
  }

  /**
   * `task` left its executor. Its mark goes with the next write: until then a crash counts it
   * among the suspects, which costs it a run alone, never a charge (a charge needs one task alone).
   */
  unmark(task: Task): void {
    this.ended.set(task.key, task);
    if (this.timer) return;
    this.timer = setTimeout(() => this.unmarkEnded(), this.unmarkAfterMs);
    this.timer.unref();
  }

  /** Removes the marks of every task that ended (before a suspect runs alone, and at shutdown). */
  unmarkEnded(): void {
    if (this.ended.size === 0 || !this.db.open) return;
    const ended = this.takeEnded();
    this.write(() => this.statements.unmark.run(JSON.stringify(ended)));
  }

  /** The tasks that ended and are still marked, as [jobId, taskId] rows; the timer is no longer needed. */
  private takeEnded(): string[][] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ended = [...this.ended.values()].map((task) => [task.job.id, task.id]);
    this.ended.clear();
    return ended;
  }

  /**
   * A store that cannot be written (a full disk) is the store writer's to report: its notice
   * holds every start until writes go through again. A mark lost meanwhile only leaves a crash
   * uncharged; an unmark lost makes a task that had ended a suspect (a run alone, no charge).
   */
  private write(statements: () => void): void {
    try {
      this.db.transaction(statements)();
    } catch (error) {
      if (!isDiskFull(error)) throw error;
    }
  }

  /** Crash records of a job's tasks, by task id. */
  ofJob(jobId: string): Map<string, CrashRecord> {
    return new Map(this.statements.ofJob.all(jobId).map((row) => [row.task_id, { crashes: row.crashes, suspect: row.suspect === 1 }]));
  }
}

/**
 * At recovery from a dead owner, inside its transaction: the marks left are the tasks that were
 * on an executor when the process died. One alone is charged a crash; several share the
 * suspicion (each then runs alone, which either clears it or charges it).
 */
export function chargeCrash(db: Database.Database): void {
  const left = db.prepare<[], { job_id: string; task_id: string }>('SELECT job_id, task_id FROM task_runs').all();
  if (left.length === 0) return;
  const charge = db.prepare(
    `INSERT INTO task_crashes (job_id, task_id, crashes, suspect) VALUES (?, ?, ?, ?)
     ON CONFLICT (job_id, task_id) DO UPDATE SET crashes = crashes + excluded.crashes, suspect = max(suspect, excluded.suspect)`,
  );
  const alone = left.length === 1;
  for (const run of left) charge.run(run.job_id, run.task_id, alone ? 1 : 0, alone ? 0 : 1);
  db.prepare('DELETE FROM task_runs').run();
}
