import type Database from 'better-sqlite3';
import { closeSync, createReadStream } from 'node:fs';
import { CsvError, parse } from 'csv-parse';
import type { z } from 'zod';
import type { ColumnType, csvImport as spec } from '../../contract/kinds/sql.js';
import type { TaskContext } from '../task-context.js';
import { TaskInputError } from '../task-errors.js';
import { fileError } from './file-errors.js';
import { openForReading } from './input-files.js';
import { discardCreatedDatabase, openConnection } from './sqlite-connections.js';
import { sqlError } from './sqlite-errors.js';

type Input = z.infer<typeof spec.input>;

/** Rows looked at to infer the types of undeclared columns. */
const INFER_FROM_ROWS = 1000;
const READ_CHUNK_BYTES = 1 << 20;
const INTEGER = /^[-+]?\d{1,18}$/;
const REAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export interface CsvImportResult {
  table: string;
  rows: number;
  columns: Array<{ name: string; type: string }>;
  /** True when this import created (or, with `ifExists: replace`, re-created) the table. */
  created: boolean;
  durationMs: number;
}

/**
 * Imports a CSV file (header row first) into a table, in one transaction: a cancel, a bad row or
 * the end of the thread leaves the database as it was. The file is parsed as it streams in, so
 * progress (by bytes) and the cancel check keep going on big files.
 */
export async function csvImport(input: Input, ctx: TaskContext): Promise<CsvImportResult> {
  const started = performance.now();
  const { fd, size } = openForReading(input.file);
  if (size === 0) {
    closeSync(fd);
    throw new TaskInputError(`${input.file} is empty; expected a header row and data rows`, 'EMPTY_CSV');
  }
  const { db, created } = openConnection(input.db, 'write', { create: true });
  const source = createReadStream(input.file, { fd, highWaterMark: READ_CHUNK_BYTES });
  const parser = parse({ bom: true, delimiter: input.delimiter, skip_empty_lines: true });
  const importer = new TableImport(db, input, ctx);
  // Not stream.pipeline: it would report its own abort instead of the error that stopped the loop.
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  try {
    db.exec('BEGIN IMMEDIATE');
    for await (const record of parser as AsyncIterable<string[]>) {
      importer.add(record);
      if (importer.rows % input.batchSize === 0) {
        ctx.throwIfCancelled();
        ctx.progress(source.bytesRead / size, `${importer.rows} rows`);
      }
    }
    importer.finish();
    ctx.throwIfCancelled();
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    // Nothing was committed: a database this import created would be left an empty file.
    if (created) discardCreatedDatabase(input.db, db);
    throw describeFailure(error, input);
  } finally {
    source.destroy();
  }
  ctx.progress(1, `${importer.rows} rows`);
  return { table: input.table, rows: importer.rows, columns: importer.columns, created: importer.created, durationMs: performance.now() - started };
}

/** Header, type inference, table creation and inserts, record by record. */
class TableImport {
  rows = 0;
  columns: Array<{ name: string; type: string }> = [];
  created = false;
  private header: string[] | null = null;
  private pending: string[][] = [];
  private insert: Database.Statement | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly input: Input,
    private readonly ctx: TaskContext,
  ) {}

  add(record: string[]): void {
    if (!this.header) {
      // Lines of nothing but white space before the header are blank lines, not a header.
      if (record.every((field) => field.trim() === '')) return;
      this.header = checkHeader(record, this.input);
      return;
    }
    if (this.insert) {
      this.write(record);
      return;
    }
    this.pending.push(record);
    if (this.pending.length >= INFER_FROM_ROWS) this.start();
  }

  finish(): void {
    if (!this.header) throw new TaskInputError(`${this.input.file} has no header row`, 'EMPTY_CSV');
    if (!this.insert) this.start();
  }

  /** Creates (or checks) the table once enough rows are in to infer types, then inserts them. */
  private start(): void {
    const header = this.header!;
    const types = header.map((name) => this.input.columns?.[name] ?? inferType(this.pending, header.indexOf(name)));
    this.columns = this.prepareTable(header, types);
    const names = header.map(quoteName).join(', ');
    this.insert = this.db.prepare(`INSERT INTO ${quoteName(this.input.table)} (${names}) VALUES (${header.map(() => '?').join(', ')})`);
    const pending = this.pending;
    this.pending = [];
    for (const record of pending) this.write(record);
  }

  private prepareTable(header: string[], types: ColumnType[]): Array<{ name: string; type: string }> {
    const table = quoteName(this.input.table);
    const existing = this.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string; type: string }>;
    if (existing.length > 0 && this.input.ifExists === 'fail') {
      throw new TaskInputError(`table "${this.input.table}" already exists in ${this.input.db} (ifExists: fail)`, 'TABLE_EXISTS');
    }
    if (existing.length > 0 && this.input.ifExists === 'append') {
      const have = new Map(existing.map((column) => [column.name.toLowerCase(), column]));
      const missing = header.filter((name) => !have.has(name.toLowerCase()));
      if (missing.length > 0) {
        throw new TaskInputError(
          `table "${this.input.table}" has no column ${missing.map((m) => `"${m}"`).join(', ')} (its columns: ${existing.map((c) => c.name).join(', ')})`,
          'COLUMN_MISMATCH',
        );
      }
      return header.map((name) => ({ name, type: have.get(name.toLowerCase())!.type }));
    }
    if (existing.length > 0) this.db.exec(`DROP TABLE ${table}`);
    this.db.exec(`CREATE TABLE ${table} (${header.map((name, i) => `${quoteName(name)} ${types[i]}`).join(', ')})`);
    this.created = true;
    return header.map((name, i) => ({ name, type: types[i]! }));
  }

  private write(record: string[]): void {
    // An empty field is NULL: CSV cannot tell an empty string from a missing value.
    for (let i = 0; i < record.length; i++) if (record[i] === '') (record as Array<string | null>)[i] = null;
    this.insert!.run(record);
    this.rows++;
  }
}

function checkHeader(record: string[], input: Input): string[] {
  const header = record.map((name) => name.trim());
  const seen = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === '') throw new TaskInputError(`${input.file}: column ${i + 1} of the header row has no name`, 'BAD_HEADER');
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) {
      throw new TaskInputError(`${input.file}: the header names "${name}" twice (columns ${first + 1} and ${i + 1})`, 'BAD_HEADER');
    }
    seen.set(name.toLowerCase(), i);
  });
  for (const name of Object.keys(input.columns ?? {})) {
    if (!header.includes(name)) {
      throw new TaskInputError(`columns.${name}: the header of ${input.file} has no column "${name}" (it has ${header.join(', ')})`, 'UNKNOWN_COLUMN');
    }
  }
  return header;
}

/** INTEGER or REAL when every non-empty value of the sample reads as one, else TEXT. */
function inferType(rows: string[][], column: number): ColumnType {
  let type: ColumnType | null = null;
  for (const row of rows) {
    const value = row[column] ?? '';
    if (value === '') continue;
    if (INTEGER.test(value)) type ??= 'INTEGER';
    else if (REAL.test(value)) type = 'REAL';
    else return 'TEXT';
  }
  return type ?? 'TEXT';
}

function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function describeFailure(error: unknown, input: Input): Error {
  if (error instanceof CsvError) {
    const details = error as CsvError & { lines?: number; record?: unknown[] };
    if (error.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH') {
      const expected = /expect (\d+)/.exec(error.message)?.[1];
      return new TaskInputError(
        `${input.file}: line ${details.lines} has ${details.record?.length} fields; the header has ${expected}`,
        'RAGGED_CSV',
      );
    }
    return new TaskInputError(`${input.file}: ${error.message}`, 'BAD_CSV');
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return fileError(error, input.file);
  return sqlError(error, input.db);
}

