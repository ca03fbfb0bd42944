import type Database from 'better-sqlite3';
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
 * is marked before it is handed over (in one transaction per batch, committed before any of it
 * can begin) and unmarked once its end is known, in the same turn of the loop. The store's own
 * rows learn of ends up to a flush later, so they cannot tell a finished neighbour from the
 * task that killed the process; these marks can.
 */
export class CrashLedger {
  private readonly statements;
  private readonly ended: Task[] = [];
  private unmarkScheduled = false;

  constructor(private readonly db: Database.Database) {
    this.statements = {
      mark: db.prepare('INSERT OR IGNORE INTO task_runs (job_id, task_id) VALUES (?, ?)'),
      unmark: db.prepare('DELETE FROM task_runs WHERE job_id = ? AND task_id = ?'),
      ofJob: db.prepare<[string], { task_id: string; crashes: number; suspect: number }>(
        'SELECT task_id, crashes, suspect FROM task_crashes WHERE job_id = ?',
      ),
    };
  }

  /** Before `tasks` are handed over: durable once this returns. */
  markHandedOver(tasks: readonly Task[]): void {
    if (!this.db.open) return;
    const mark = this.statements.mark;
    this.db.transaction(() => {
      for (const task of tasks) mark.run(task.job.id, task.id);
    })();
  }

  /** `task` left its executor; the marks of every task that ended in this turn go in one write. */
  unmark(task: Task): void {
    this.ended.push(task);
    if (this.unmarkScheduled) return;
    this.unmarkScheduled = true;
    queueMicrotask(() => this.unmarkEnded());
  }

  private unmarkEnded(): void {
    this.unmarkScheduled = false;
    const ended = this.ended.splice(0);
    if (!this.db.open) return;
    const unmark = this.statements.unmark;
    this.db.transaction(() => {
      for (const task of ended) unmark.run(task.job.id, task.id);
    })();
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
