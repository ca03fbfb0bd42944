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

/** One hand-over as the ledger holds it: its row, and how many of its tasks are still on an executor. */
interface HandOver {
  row: number;
  tasks: readonly Task[];
  running: number;
}

/**
 * The durable record of which tasks were handed to an executor when the process died. Each
 * hand-over is one row of `hand_overs` listing its tasks, committed before any of them can
 * begin (a batch of 64 costs one short insert, not a row per task). Tasks' ends are written
 * with the next hand-over, or within an interval, whichever comes first: a hand-over whose
 * tasks all ended loses its row (or gives it to the next hand-over, rewritten with that one's
 * tasks), one with some still running has its row rewritten without the ended ones. A crash
 * leaves recorded every task that may have killed the process, and perhaps a few that ended
 * after the last write: these only share the suspicion. Each suspect then runs alone, and only
 * a crash during a run alone charges it.
 */
export class CrashLedger {
  private readonly statements;
  /** The recorded hand-over of each task on an executor. */
  private readonly handOverOf = new Map<Task, HandOver>();
  /** Hand-overs with tasks that ended since their row was written. */
  private readonly changed = new Set<HandOver>();
  private timer: NodeJS.Timeout | null = null;

  /** The statements of one write, in one transaction (made once: better-sqlite3 builds a wrapper per call). */
  private readonly inTransaction: (write: () => number | null) => number | null;

  constructor(
    private readonly db: Database.Database,
    /** How long ends are gathered before they are written together. */
    private readonly unmarkAfterMs: number,
  ) {
    this.statements = {
      mark: db.prepare<[string]>('INSERT INTO hand_overs (tasks) VALUES (?)'),
      rewrite: db.prepare<[string, number]>('UPDATE hand_overs SET tasks = ? WHERE id = ?'),
      remove: db.prepare<[number]>('DELETE FROM hand_overs WHERE id = ?'),
      ofJob: db.prepare<[string], { task_id: string; crashes: number; suspect: number }>(
        'SELECT task_id, crashes, suspect FROM task_crashes WHERE job_id = ?',
      ),
    };
    this.inTransaction = db.transaction((write: () => number | null) => write());
  }

  /**
   * Before `tasks` are handed over: durable once this returns. The ends since the last write go
   * in the same transaction, so a crash while these run blames only what was on an executor
   * with them (a task that just ended does not share the suspicion).
   */
  markHandedOver(tasks: readonly Task[]): void {
    if (!this.db.open) return;
    // Handed over again before its last end was written (a batch given back): it is in the new row.
    for (const task of tasks) this.leave(task);
    const ended = this.takeChanged();
    // A hand-over whose tasks all ended gives its row to this one: one statement writes that end
    // and this mark (the usual case of a long task: one ends, the next is handed to its thread).
    const reused = ended.findIndex((handOver) => handOver.running === 0);
    const others = reused === -1 ? ended : ended.filter((_, index) => index !== reused);
    const row = this.write(others.length === 0, () => {
      this.writeEnds(others);
      if (reused === -1) return Number(this.statements.mark.run(rowOf(tasks)).lastInsertRowid);
      const { row } = ended[reused]!;
      this.statements.rewrite.run(rowOf(tasks), row);
      return row;
    });
    if (row === null) return this.keepChanged(ended);
    const handOver: HandOver = { row, tasks, running: tasks.length };
    for (const task of tasks) this.handOverOf.set(task, handOver);
  }

  /**
   * `task` left its executor. Its end goes with the next write: until then a crash counts it
   * among the suspects, which costs it a run alone, never a charge (a charge needs one task alone).
   */
  unmark(task: Task): void {
    if (!this.leave(task) || this.timer) return;
    this.timer = setTimeout(() => this.unmarkEnded(), this.unmarkAfterMs);
    this.timer.unref();
  }

  /** Writes every end so far (before a suspect runs alone, and at shutdown). */
  unmarkEnded(): void {
    if (this.changed.size === 0 || !this.db.open) return;
    const ended = this.takeChanged();
    const written = this.write(ended.length === 1, () => {
      this.writeEnds(ended);
      return 0;
    });
    if (written === null) this.keepChanged(ended);
  }

  /** Forgets `task`'s hand-over, whose row must change; false if it had none (its mark was lost). */
  private leave(task: Task): boolean {
    const handOver = this.handOverOf.get(task);
    if (!handOver) return false;
    this.handOverOf.delete(task);
    handOver.running--;
    this.changed.add(handOver);
    return true;
  }

  /** The hand-overs whose rows must change; the timer is no longer needed. */
  private takeChanged(): HandOver[] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const changed = [...this.changed];
    this.changed.clear();
    return changed;
  }

  /** A write that did not go through: its ends go with the next one. */
  private keepChanged(changed: readonly HandOver[]): void {
    for (const handOver of changed) this.changed.add(handOver);
    if (this.changed.size === 0 || this.timer) return;
    this.timer = setTimeout(() => this.unmarkEnded(), this.unmarkAfterMs);
    this.timer.unref();
  }

  private writeEnds(changed: readonly HandOver[]): void {
    for (const handOver of changed) {
      if (handOver.running === 0) this.statements.remove.run(handOver.row);
      else this.statements.rewrite.run(rowOf(handOver.tasks.filter((task) => this.handOverOf.get(task) === handOver)), handOver.row);
    }
  }

  /**
   * A store that cannot be written (a full disk) is the store writer's to report: its notice
   * holds every start until writes go through again. A store held by another writer beyond the
   * busy timeout (a checkpoint's sync on a disk that hardly answers) is the same for the ledger.
   * A mark lost meanwhile only leaves a crash uncharged; ends not written are tried again with
   * the next write (until then those tasks are suspects: a run alone, no charge). Neither may
   * throw out of a hand-over: that would end the process. Returns what `statements` returned,
   * or null when lost. `oneStatement`: they run a single statement, atomic on its own.
   */
  private write(oneStatement: boolean, statements: () => number): number | null {
    try {
      return oneStatement ? statements() : this.inTransaction(statements);
    } catch (error) {
      if (!isDiskFull(error) && !isBusy(error)) throw error;
      return null;
    }
  }

  /** Crash records of a job's tasks, by task id. */
  ofJob(jobId: string): Map<string, CrashRecord> {
    return new Map(this.statements.ofJob.all(jobId).map((row) => [row.task_id, { crashes: row.crashes, suspect: row.suspect === 1 }]));
  }
}

/** SQLITE_BUSY (or one of its extended codes): another connection held the store past the busy timeout. */
function isBusy(error: unknown): boolean {
  return ((error as { code?: unknown } | null)?.code ?? '').toString().startsWith('SQLITE_BUSY');
}

/** A hand-over's `tasks` column: a JSON array of [jobId, taskId]. */
function rowOf(tasks: readonly Task[]): string {
  return JSON.stringify(tasks.map((task) => [task.job.id, task.id]));
}

/**
 * At recovery from a dead owner, inside its transaction: the marks left are the tasks that were
 * on an executor when the process died. One alone is charged a crash; several share the
 * suspicion (each then runs alone, which either clears it or charges it).
 */
export function chargeCrash(db: Database.Database): void {
  // A task removed from the store since (its job discarded or dropped) is no one's suspect.
  const left = db
    .prepare<[], { job_id: string; task_id: string }>('SELECT r.job_id, r.task_id FROM task_runs r JOIN tasks t ON t.job_id = r.job_id AND t.id = r.task_id')
    .all();
  const charge = db.prepare(
    `INSERT INTO task_crashes (job_id, task_id, crashes, suspect) VALUES (?, ?, ?, ?)
     ON CONFLICT (job_id, task_id) DO UPDATE SET crashes = crashes + excluded.crashes, suspect = max(suspect, excluded.suspect)`,
  );
  const alone = left.length === 1;
  for (const run of left) charge.run(run.job_id, run.task_id, alone ? 1 : 0, alone ? 0 : 1);
  db.prepare('DELETE FROM hand_overs').run();
}
