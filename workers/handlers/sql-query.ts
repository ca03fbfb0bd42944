import type Database from 'better-sqlite3';
import type { z } from 'zod';
import type { QueryOutputFormat, sqlQuery as spec } from '../../contract/kinds/sql.js';
import type { TaskContext } from '../task-context.js';
import { TaskInputError } from '../../shared/task-errors.js';
import { ChunkWriter } from './chunk-writer.js';
import { OutputFile } from './output-file.js';
import { startKeyOrderedExport, type KeyOrderedExport } from './key-ordered-export.js';
import { formatOfPath, previewRow, rowEncoder, type RowEncoder } from './row-encoders.js';
import { pragmaOf, pragmaReads } from './sql-pragmas.js';
import { connection } from './sqlite-connections.js';
import { missingPositionalParams, sqlError } from './sqlite-errors.js';

const PREVIEW_ROWS = 100;
/** Rows between looks at the cancel flag (and progress reports). A power of two. */
const CHECK_EVERY_ROWS = 4096;

export interface SqlQueryResult {
  columns: string[];
  rowCount: number;
  /** The first rows, JSON-safe: big integers as strings, blobs as hex. */
  preview: unknown[][];
  output: { path: string; format: QueryOutputFormat; bytes: number } | null;
  durationMs: number;
}

type Input = z.infer<typeof spec.input>;

/**
 * Streams the rows of one read-only statement to a file. Rows are never all in memory: they
 * are formatted as they come and written in big chunks; the preview keeps the first 100.
 */
export function sqlQuery(input: Input, ctx: TaskContext): SqlQueryResult {
  const started = performance.now();
  const db = connection(input.db, 'read');
  const statement = prepareQuery(db, input.sql);
  const columns = statement.columns().map((column) => column.name);
  const params = bindings(input.params);
  let rows: { rowCount: number; preview: unknown[][]; output: SqlQueryResult['output'] };
  try {
    // Integers read as bigints: exact, and told apart from REALs, which read as numbers.
    if (!input.output) rows = countRows(statement.safeIntegers(true), params, ctx);
    else {
      const target = { path: input.output.path, format: input.output.format ?? formatOfPath(input.output.path) };
      rows = exportRows(db, statement.safeIntegers(true), input, params, target, columns, ctx);
    }
  } catch (error) {
    const missing = error instanceof RangeError && /too few/i.test(error.message) ? missingPositionalParams(db, input.sql, params.length) : null;
    throw missing ? new TaskInputError(`${input.db}: ${missing}`, 'SQL_PARAMS') : sqlError(error, input.db);
  }
  ctx.progress(1, `${rows.rowCount} rows`);
  return { columns, ...rows, durationMs: performance.now() - started };
}

function countRows(statement: Database.Statement, params: unknown[], ctx: TaskContext) {
  const preview: unknown[][] = [];
  let rowCount = 0;
  for (const row of statement.iterate(...params) as IterableIterator<unknown[]>) {
    if (rowCount < PREVIEW_ROWS) preview.push(previewRow(row));
    if ((++rowCount & (CHECK_EVERY_ROWS - 1)) === 0) {
      ctx.throwIfCancelled();
      ctx.progress(null, `${rowCount} rows`);
    }
  }
  return { rowCount, preview, output: null };
}

/**
 * Writes every row to the output; the file appears under its name only when complete. A
 * key-ordered export (`SELECT ... FROM t ORDER BY id`) is read in batches and, when large, in key
 * ranges that this thread takes from the front and range threads from the back, joined in order
 * (see `key-ordered-export.ts`); the bytes are the same either way.
 */
function exportRows(
  db: Database.Database,
  statement: Database.Statement,
  input: Pick<Input, 'db' | 'sql'>,
  params: unknown[],
  target: { path: string; format: QueryOutputFormat },
  columns: string[],
  ctx: TaskContext,
) {
  const encoder: RowEncoder = rowEncoder(target.format, columns);
  const output = OutputFile.open(target.path, { overwrite: true });
  const preview: unknown[][] = [];
  let rowCount = 0;
  let keyOrdered: KeyOrderedExport | null = null;
  try {
    // Rows are written as bytes into one reused buffer, written to the file a megabyte at a time.
    const out = new ChunkWriter((bytes) => output.write(bytes));
    out.text(encoder.head);
    const write = (row: unknown[]) => {
      encoder.row(row, rowCount, out);
      if (rowCount < PREVIEW_ROWS) preview.push(previewRow(row));
      rowCount++;
    };
    const checkIn = () => {
      ctx.throwIfCancelled();
      ctx.progress(null, `${rowCount} rows`);
    };
    keyOrdered = startKeyOrderedExport(db, { dbPath: input.db, sql: input.sql, params, format: target.format, columns, partialPath: output.partialPath });
    if (keyOrdered) {
      const split = keyOrdered;
      // This thread's rows so far and the range threads'.
      const report = () => {
        ctx.throwIfCancelled();
        ctx.progress(null, `${rowCount + split.helperRows()} rows`);
      };
      split.readFront((rows) => {
        for (const row of rows) write(row);
        report();
      });
      out.flush();
      rowCount += split.joinBack((bytes) => output.write(bytes), encoder, report, (message) => ctx.log(message, 'warn'));
      if (split.threads > 1) {
        ctx.log(`rows read on ${split.threads} threads at once, in ${split.ranges} key ranges taken in turn: ${split.frontRanges} by the task's thread`);
      }
      if (preview.length < PREVIEW_ROWS && rowCount > preview.length) {
        for (const row of split.rowsAfterFront(PREVIEW_ROWS - preview.length)) preview.push(previewRow(row));
      }
    } else {
      for (const row of statement.iterate(...params) as IterableIterator<unknown[]>) {
        write(row);
        if ((rowCount & (CHECK_EVERY_ROWS - 1)) === 0) checkIn();
      }
    }
    out.text(encoder.tail);
    out.flush();
    output.commit();
  } catch (error) {
    output.discard();
    throw error;
  } finally {
    keyOrdered?.close();
  }
  return { rowCount, preview, output: { path: output.path, format: target.format, bytes: output.bytes } };
}

/** Prepares the query and refuses anything but one statement that reads rows and writes nothing. */
function prepareQuery(db: Database.Database, sql: string): Database.Statement {
  // Before preparing: SQLite applies a pragma's setting as it prepares the statement.
  const pragma = pragmaOf(sql);
  if (pragma && !pragmaReads(pragma)) {
    throw new TaskInputError(
      pragma.argument === 'none'
        ? `sql.query is read-only, and PRAGMA ${pragma.name} is not one of the pragmas that only report; use sql.exec`
        : `sql.query is read-only, and PRAGMA ${pragma.name} with a value changes a setting; use sql.exec`,
      'READONLY',
    );
  }
  let statement: Database.Statement;
  try {
    statement = db.prepare(sql);
  } catch (error) {
    if (error instanceof RangeError && /more than one statement/.test(error.message)) {
      throw new TaskInputError('sql.query runs one statement; use sql.exec for a script', 'SQL_ERROR');
    }
    throw sqlError(error);
  }
  if (!statement.readonly) {
    throw new TaskInputError('sql.query is read-only and this statement would change the database; use sql.exec to write', 'READONLY');
  }
  if (!statement.reader) {
    throw new TaskInputError('sql.query runs statements that return rows (SELECT, VALUES, a PRAGMA that reports); this one returns none', 'NOT_A_QUERY');
  }
  // Raw arrays are cheaper than objects and keep repeated column names.
  return statement.raw(true);
}

/** better-sqlite3 binds positional values as arguments and named ones as one object; booleans as 1/0. */
function bindings(params: Input['params']): unknown[] {
  if (params === undefined) return [];
  const value = (v: unknown) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
  if (Array.isArray(params)) return params.map(value);
  return [Object.fromEntries(Object.entries(params).map(([name, v]) => [name, value(v)]))];
}
