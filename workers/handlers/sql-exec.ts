import type Database from 'better-sqlite3';
import type { z } from 'zod';
import type { sqlExec as spec } from '../../contract/kinds/sql.js';
import type { TaskContext } from '../task-context.js';
import { TaskInputError } from '../../shared/task-errors.js';
import { pragmaOf, pragmaReads } from './sql-pragmas.js';
import { splitStatements, type ScriptStatement } from './sql-statements.js';
import { discardConnection, discardCreatedDatabase, openConnection } from './sqlite-connections.js';
import { sqlError } from './sqlite-errors.js';

const CHECK_EVERY_ROWS = 4096;
/** Statements that would end the script's own transaction early. */
const TRANSACTION_CONTROL = /^(BEGIN|COMMIT|END|ROLLBACK(?!\s+TO\b))\b/i;

export interface SqlExecResult {
  /** Rows inserted, updated or deleted by the script, its triggers and foreign-key actions included. */
  changes: number;
  statements: number;
  durationMs: number;
}

/**
 * Runs a script in one transaction, statement by statement, looking at the cancel flag between
 * statements. A cancel, a failure or the end of the thread before COMMIT leaves the database as
 * it was: SQLite rolls the transaction back (a terminated thread's connection closes with it).
 */
export function sqlExec(input: z.infer<typeof spec.input>, ctx: TaskContext): SqlExecResult {
  const started = performance.now();
  const statements = splitStatements(input.sql);
  if (statements.length === 0) throw new TaskInputError('the script has no statements (only comments or semicolons)', 'SQL_ERROR');
  statements.forEach((statement, index) => {
    if (TRANSACTION_CONTROL.test(statement.text)) {
      throw new TaskInputError(
        `${where(statement, index)}: sql.exec runs the whole script in one transaction of its own; leave out BEGIN, COMMIT and ROLLBACK`,
        'SQL_ERROR',
      );
    }
  });
  // A pragma that sets something (a lock mode, a timeout) would outlast the task on a reused
  // connection: the connection then ends with the task.
  const setsPragma = statements.some((statement) => {
    const pragma = pragmaOf(statement.text);
    return pragma !== null && !pragmaReads(pragma);
  });
  const { db, created } = openConnection(input.db, input.readonly ? 'read' : 'write', { create: input.create && !input.readonly });
  try {
    return runScript(db, created, statements, input, ctx, started);
  } finally {
    if (setsPragma) discardConnection(db);
  }
}

function runScript(
  db: Database.Database,
  created: boolean,
  statements: ScriptStatement[],
  input: z.infer<typeof spec.input>,
  ctx: TaskContext,
  started: number,
): SqlExecResult {
  const totalChanges = db.prepare('SELECT total_changes()').pluck();
  let changes: number;
  try {
    db.exec(input.readonly ? 'BEGIN' : 'BEGIN IMMEDIATE');
    const before = totalChanges.get() as number;
    statements.forEach((statement, index) => {
      ctx.throwIfCancelled();
      run(db, statement, index, ctx);
      ctx.progress((index + 1) / statements.length, `statement ${index + 1} of ${statements.length}`);
    });
    changes = (totalChanges.get() as number) - before;
    ctx.throwIfCancelled();
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    // Nothing was committed: a database this task created would be left an empty file.
    if (created) discardCreatedDatabase(input.db, db);
    throw sqlError(error, input.db);
  }
  return { changes, statements: statements.length, durationMs: performance.now() - started };
}

function run(db: Database.Database, statement: ScriptStatement, index: number, ctx: TaskContext): void {
  try {
    const prepared = db.prepare(statement.text);
    if (!prepared.reader) {
      prepared.run();
      return;
    }
    // A statement that returns rows (a SELECT, a RETURNING clause) runs to its end; rows are dropped.
    let rows = 0;
    for (const _row of prepared.raw(true).iterate()) if ((++rows & (CHECK_EVERY_ROWS - 1)) === 0) ctx.throwIfCancelled();
  } catch (error) {
    throw sqlError(error, where(statement, index));
  }
}

function where(statement: ScriptStatement, index: number): string {
  return `statement ${index + 1} (line ${statement.line})`;
}
