import { z } from 'zod';
import { defineKind } from './kind-spec.js';
import { pathSchema } from './path-list.js';

const filePath = pathSchema();
const sqlText = z.string().refine((text) => text.trim().length > 0, 'expected SQL text');
/** A value bound to a `?`, `:name`, `@name` or `$name` parameter. Booleans bind as 1 and 0. */
const sqlValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const QUERY_OUTPUT_FORMATS = ['csv', 'jsonl', 'json'] as const;
export type QueryOutputFormat = (typeof QUERY_OUTPUT_FORMATS)[number];

export const COLUMN_TYPES = ['INTEGER', 'REAL', 'TEXT', 'BLOB', 'NUMERIC'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export const sqlQuery = defineKind({
  name: 'sql.query',
  executor: 'pool',
  summary: 'Runs one read-only SQLite query and streams its rows to a CSV, JSON Lines or JSON file.',
  input: () => z.object({
    db: filePath,
    sql: sqlText,
    params: z.union([z.array(sqlValue), z.record(z.string(), sqlValue)]).optional(),
    output: z
      .strictObject({
        path: filePath,
        /** Default: from the file name (`.json`, `.jsonl`/`.ndjson`), else csv. */
        format: z.enum(QUERY_OUTPUT_FORMATS).optional(),
      })
      .optional(),
  }),
  resolvePaths: (input, resolve) => ({
    ...input,
    db: resolve.file(input.db),
    ...(input.output ? { output: { ...input.output, path: resolve.file(input.output.path) } } : {}),
  }),
});

export const sqlExec = defineKind({
  name: 'sql.exec',
  executor: 'pool',
  summary: 'Runs a SQLite script in one transaction: all of it happens, or none of it.',
  input: () => z.object({
    db: filePath,
    sql: sqlText,
    /** Open the database read-only: the script may only read (checks, reports). */
    readonly: z.boolean().default(false),
    /** Create the database file when it does not exist (else a missing file is an error). */
    create: z.boolean().default(false),
  }),
  resolvePaths: (input, resolve) => ({ ...input, db: resolve.file(input.db) }),
});

export const csvImport = defineKind({
  name: 'csv.import',
  executor: 'pool',
  summary: 'Imports a CSV file with a header row into a SQLite table, in one transaction.',
  input: () => z.object({
    file: filePath,
    /** Created when missing. */
    db: filePath,
    table: z.string().min(1, 'expected a table name'),
    /** Declared types of header columns; the others are inferred from the first rows. */
    columns: z.record(z.string(), z.enum(COLUMN_TYPES)).optional(),
    /** Rows between cancel checks and progress reports. */
    batchSize: z.number().int().min(1).max(1_000_000).default(5000),
    delimiter: z.string().length(1, 'expected one character').default(','),
    /** What to do when the table already exists. */
    ifExists: z.enum(['append', 'replace', 'fail']).default('append'),
  }),
  resolvePaths: (input, resolve) => ({ ...input, file: resolve.file(input.file), db: resolve.file(input.db) }),
});

export const sqlKinds = [sqlQuery, sqlExec, csvImport];
