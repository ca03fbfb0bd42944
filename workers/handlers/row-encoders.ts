/**
 * Row formats of `sql.query` output. Rows arrive as arrays (better-sqlite3 raw mode) of null,
 * number, bigint (integers, when read exactly), string or Buffer (blobs).
 *
 * Reading integers as JavaScript numbers is much faster than as bigints, and exact up to 2^53.
 * An encoder made with `exactIntegers: false` expects numbers and throws `InexactIntegers` at
 * the first one beyond 2^53 (it may have been rounded); the query then runs again with bigints.
 */
import type { QueryOutputFormat } from '../../contract/kinds/sql.js';

export interface RowEncoder {
  /** Written before the first row. */
  readonly head: string;
  row(values: readonly unknown[], index: number): string;
  /** Written after the last row. */
  readonly tail: string;
}

/** RFC 4180 needs quotes around a field holding a quote, a comma or a line break. */
const NEEDS_QUOTES = /[",\r\n]/;
const ALL_QUOTES = /"/g;

/** Blobs as uppercase hex, as SQLite's `hex()` writes them. */
function hex(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex').toUpperCase();
}

export class InexactIntegers extends Error {
  constructor() {
    super('an integer beyond 2^53 needs exact reading');
  }
}

type FieldFormat = (value: unknown) => string;

function csvField(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return NEEDS_QUOTES.test(value) ? `"${value.replace(ALL_QUOTES, '""')}"` : value;
    case 'number':
      // SQLite keeps infinities (1e999); its shell prints them as Inf.
      return Number.isFinite(value) ? String(value) : value > 0 ? 'Inf' : '-Inf';
    case 'bigint':
      return value.toString();
    default:
      return value === null || value === undefined ? '' : hex(value as Uint8Array);
  }
}

function jsonValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : value > 0 ? '"Infinity"' : '"-Infinity"';
    case 'bigint':
      // JSON numbers have no size limit: the digits are written exactly.
      return value.toString();
    default:
      return value === null || value === undefined ? 'null' : `"${hex(value as Uint8Array)}"`;
  }
}

/** Wraps a format so that a number that may be a rounded 64-bit integer stops the run. */
function guarded(format: FieldFormat): FieldFormat {
  return (value) => {
    if (typeof value === 'number' && (value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER)) throw new InexactIntegers();
    return format(value);
  };
}

/** CSV with a header row and CRLF line ends (RFC 4180); NULL is an empty field. */
function csvEncoder(columns: readonly string[], field: FieldFormat): RowEncoder {
  return {
    head: `${columns.map(csvField).join(',')}\r\n`,
    row(values) {
      let line = field(values[0]);
      for (let i = 1; i < values.length; i++) line += `,${field(values[i])}`;
      return `${line}\r\n`;
    },
    tail: '',
  };
}

/** JSON object keys: a repeated column name (`SELECT a.id, b.id`) gets a `_2`, `_3`... suffix. */
function objectKeys(columns: readonly string[]): string[] {
  const used = new Set<string>();
  return columns.map((name) => {
    let key = name;
    for (let n = 2; used.has(key); n++) key = `${name}_${n}`;
    used.add(key);
    return key;
  });
}

function objectEncoder(columns: readonly string[], value: FieldFormat): (values: readonly unknown[]) => string {
  const prefixes = objectKeys(columns).map((key, i) => `${i === 0 ? '{' : ','}${JSON.stringify(key)}:`);
  return (values) => {
    let text = '';
    for (let i = 0; i < prefixes.length; i++) text += prefixes[i]! + value(values[i]);
    return prefixes.length === 0 ? '{}' : `${text}}`;
  };
}

function jsonlEncoder(columns: readonly string[], value: FieldFormat): RowEncoder {
  const object = objectEncoder(columns, value);
  return { head: '', row: (values) => `${object(values)}\n`, tail: '' };
}

/** One JSON array of row objects, one row per line. */
function jsonEncoder(columns: readonly string[], value: FieldFormat): RowEncoder {
  const object = objectEncoder(columns, value);
  return { head: '[', row: (values, index) => `${index === 0 ? '\n' : ',\n'}${object(values)}`, tail: '\n]\n' };
}

export function rowEncoder(format: QueryOutputFormat, columns: readonly string[], options: { exactIntegers: boolean }): RowEncoder {
  const plain = format === 'csv' ? csvField : jsonValue;
  const value = options.exactIntegers ? plain : guarded(plain);
  if (format === 'json') return jsonEncoder(columns, value);
  if (format === 'jsonl') return jsonlEncoder(columns, value);
  return csvEncoder(columns, value);
}

/** The format an output path implies when none is given. */
export function formatOfPath(path: string): QueryOutputFormat {
  if (/\.json$/i.test(path)) return 'json';
  if (/\.(jsonl|ndjson)$/i.test(path)) return 'jsonl';
  return 'csv';
}

/** A row as the result's preview holds it: JSON-safe values (big integers as strings, blobs as hex). */
export function previewRow(values: readonly unknown[]): unknown[] {
  return values.map((value) => {
    if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
    if (value instanceof Uint8Array) return hex(value);
    return value;
  });
}
