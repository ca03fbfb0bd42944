/**
 * Row formats of `sql.query` output. Rows arrive as arrays (better-sqlite3 raw mode) of null,
 * number, bigint (integers, when read exactly), string or Buffer (blobs).
 *
 * Reading integers as JavaScript numbers is much faster than as bigints, and exact up to 2^53.
 * An encoder made with `exactIntegers: false` expects numbers and throws `InexactIntegers` at
 * the first one beyond 2^53 (it may have been rounded); the query then runs again with bigints.
 */
import type { QueryOutputFormat } from '../../contract/kinds/sql.js';
import type { ChunkWriter } from './chunk-writer.js';

export interface RowEncoder {
  /** Written before the first row. */
  readonly head: string;
  /** Writes one row (the `index`th, from 0) to `out`. */
  row(values: readonly unknown[], index: number, out: ChunkWriter): void;
  /** Written after the last row. */
  readonly tail: string;
}

const ALL_QUOTES = /"/g;
const COMMA = 0x2c;
const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;

/** RFC 4180 needs quotes around a field holding a quote, a comma or a line break. */
function needsQuotes(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= COMMA && (code === COMMA || code === QUOTE || code === LF || code === CR)) return true;
  }
  return false;
}

function csvText(text: string): string {
  return needsQuotes(text) ? `"${text.replace(ALL_QUOTES, '""')}"` : text;
}

/** Blobs as uppercase hex, as SQLite's `hex()` writes them. */
function hex(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex').toUpperCase();
}

export class InexactIntegers extends Error {
  constructor() {
    super('an integer beyond 2^53 needs exact reading');
  }
}

/** A number that may be a rounded 64-bit integer (or is infinite: the exact run writes it all the same). */
function inexact(value: unknown): boolean {
  return typeof value === 'number' && (value > Number.MAX_SAFE_INTEGER || value < -Number.MAX_SAFE_INTEGER);
}

/** Writes one CSV field; a number beyond 2^53 throws InexactIntegers unless integers are read exactly. */
function writeCsvField(value: unknown, out: ChunkWriter, exactIntegers: boolean): void {
  switch (typeof value) {
    case 'string':
      out.text(csvText(value));
      return;
    case 'number':
      if (!exactIntegers && inexact(value)) throw new InexactIntegers();
      // SQLite keeps infinities (1e999); its shell prints them as Inf.
      if (Number.isFinite(value)) out.number(value);
      else out.text(value > 0 ? 'Inf' : '-Inf');
      return;
    case 'bigint':
      out.text(value.toString());
      return;
    default:
      if (value !== null && value !== undefined) out.text(hex(value as Uint8Array));
  }
}

type FieldFormat = (value: unknown) => string;

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
    if (inexact(value)) throw new InexactIntegers();
    return format(value);
  };
}

/**
 * CSV with a header row and CRLF line ends (RFC 4180); NULL is an empty field. Fields are
 * written as bytes, not joined into strings first: this is the hot loop of a large export.
 */
function csvEncoder(columns: readonly string[], exactIntegers: boolean): RowEncoder {
  return {
    head: `${columns.map(csvText).join(',')}\r\n`,
    row(values, _index, out) {
      for (let i = 0; i < values.length; i++) {
        if (i > 0) out.byte(COMMA);
        writeCsvField(values[i], out, exactIntegers);
      }
      out.bytePair(CR, LF);
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
  return { head: '', row: (values, _index, out) => out.text(`${object(values)}\n`), tail: '' };
}

/** One JSON array of row objects, one row per line. */
function jsonEncoder(columns: readonly string[], value: FieldFormat): RowEncoder {
  const object = objectEncoder(columns, value);
  return { head: '[', row: (values, index, out) => out.text(`${index === 0 ? '\n' : ',\n'}${object(values)}`), tail: '\n]\n' };
}

export function rowEncoder(format: QueryOutputFormat, columns: readonly string[], options: { exactIntegers: boolean }): RowEncoder {
  if (format === 'csv') return csvEncoder(columns, options.exactIntegers);
  const value = options.exactIntegers ? jsonValue : guarded(jsonValue);
  return format === 'json' ? jsonEncoder(columns, value) : jsonlEncoder(columns, value);
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
