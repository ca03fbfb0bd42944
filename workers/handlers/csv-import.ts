import type Database from 'better-sqlite3';
import { closeSync, createReadStream } from 'node:fs';
import { CsvError, parse } from 'csv-parse';
import type { z } from 'zod';
import type { ColumnType, csvImport as spec } from '../../contract/kinds/sql.js';
import type { TaskContext } from '../task-context.js';
import { TaskInputError } from '../../shared/task-errors.js';
import { FieldKind, fieldKind, integerValue, realHoldsInteger, realValue } from './csv-values.js';
import { fileError } from '../../shared/file-errors.js';
import { openForReading } from './input-files.js';
import { discardCreatedDatabase, openConnection } from './sqlite-connections.js';
import { sqlError } from './sqlite-errors.js';

type Input = z.infer<typeof spec.input>;

/** Rows looked at to infer the types of undeclared columns. */
const INFER_FROM_ROWS = 1000;
const READ_CHUNK_BYTES = 1 << 20;

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
  // The raw text of each record tells a quoted empty field (an empty text) from an empty one (NULL).
  const parser = parse({ bom: true, delimiter: input.delimiter, skip_empty_lines: true, raw: true });
  const importer = new TableImport(db, input, ctx);
  // Not stream.pipeline: it would report its own abort instead of the error that stopped the loop.
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  try {
    db.exec('BEGIN IMMEDIATE');
    for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      importer.add(record, raw);
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
  private pending: Field[][] = [];
  private insert: Database.Statement | null = null;
  /** Per column, how its fields are bound: as written (declared or existing types), or read as inferred. */
  private inferred: Array<ColumnType | null> = [];

  constructor(
    private readonly db: Database.Database,
    private readonly input: Input,
    private readonly ctx: TaskContext,
  ) {}

  add(record: string[], raw: string): void {
    if (!this.header) {
      // Lines of nothing but white space before the header are blank lines, not a header.
      if (record.every((field) => field.trim() === '')) return;
      this.header = checkHeader(record, this.input);
      return;
    }
    const fields = withNulls(record, raw, this.input.delimiter);
    if (this.insert) {
      this.write(fields);
      return;
    }
    this.pending.push(fields);
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
    this.inferred = header.map((name, i) => (this.created && !this.input.columns?.[name] ? types[i]! : null));
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

  private write(fields: Field[]): void {
    const values: unknown[] = fields;
    for (let i = 0; i < fields.length; i++) {
      const type = this.inferred[i];
      const text = fields[i];
      if (type && type !== 'TEXT' && text) values[i] = this.numeric(text, type, i);
    }
    this.insert!.run(values);
    this.rows++;
  }

  /**
   * A field of a column inferred INTEGER or REAL, as the value that keeps it: a number, or the
   * text itself when it is no number (SQLite keeps such text as it is). Text that the column's
   * affinity would turn into a number it does not equal ('007', 2^64 in a REAL column) fails
   * the import: rows past the inference sample can hold it.
   */
  private numeric(text: string, type: ColumnType, column: number): unknown {
    const kind = fieldKind(text);
    if (kind === FieldKind.Integer) {
      const value = integerValue(text)!;
      if (type !== 'REAL' || realHoldsInteger(value)) return value;
    } else if (kind === FieldKind.Real) return realValue(text);
    else if (kind === FieldKind.Text) return text;
    const name = this.header![column]!;
    throw new TaskInputError(
      `${this.input.file}: row ${this.rows + 1}, column "${name}": ${JSON.stringify(text)} would not stay as written in a column inferred ${type} from the first ${INFER_FROM_ROWS} rows; declare its type (columns: {${JSON.stringify(name)}: TEXT})`,
      'TYPE_MISMATCH',
    );
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

/** A field: text, or null for an empty, unquoted field. */
type Field = string | null;

/** An empty field is NULL; a quoted empty field (`""`, as the sqlite3 shell writes an empty text) is an empty text. */
function withNulls(record: string[], raw: string, delimiter: string): Field[] {
  const fields: Field[] = record;
  let quoted: Set<number> | null = null;
  for (let i = 0; i < record.length; i++) {
    if (record[i] !== '') continue;
    quoted ??= raw.includes('""') ? quotedEmptyFields(raw, delimiter) : new Set();
    if (!quoted.has(i)) fields[i] = null;
  }
  return fields;
}

/** The places of the fields written `""` in a record's raw text. */
function quotedEmptyFields(raw: string, delimiter: string): Set<number> {
  const found = new Set<number>();
  let field = 0;
  let at = 0;
  while (at < raw.length) {
    if (raw[at] === '"') {
      let close = at + 1;
      // A doubled quote inside a quoted field is a quote.
      while (close < raw.length && (raw[close] !== '"' || raw[close + 1] === '"')) close += raw[close] === '"' ? 2 : 1;
      if (close === at + 1) found.add(field);
      at = close + 1;
    }
    while (at < raw.length && raw[at] !== delimiter && raw[at] !== '\n' && raw[at] !== '\r') at++;
    if (raw[at] !== delimiter) break;
    field++;
    at++;
  }
  return found;
}

/**
 * INTEGER when every value of the sample is an integer within 64 bits, REAL when every one is
 * such an integer (that a double holds) or a decimal that a double holds as written, else TEXT.
 * NULLs and empty texts say nothing of a column's type.
 */
function inferType(rows: Field[][], column: number): ColumnType {
  let type: ColumnType | null = null;
  let beyondDoubles = false;
  for (const row of rows) {
    const text = row[column];
    if (!text) continue;
    const kind = fieldKind(text);
    if (kind === FieldKind.Integer) {
      type ??= 'INTEGER';
      beyondDoubles ||= !realHoldsInteger(integerValue(text)!);
    } else if (kind === FieldKind.Real) type = 'REAL';
    else return 'TEXT';
  }
  // A REAL column would round an integer a double cannot hold.
  if (type === 'REAL' && beyondDoubles) return 'TEXT';
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

