/**
 * Row formats of `sql.query` output. Rows arrive as arrays (better-sqlite3 raw mode, reading
 * integers exactly) of null, bigint (INTEGER), number (REAL), string (TEXT) or Buffer (BLOB):
 * the JavaScript type tells the two numeric storage classes apart, so that a REAL 2.0 is
 * written `2.0`, never as the integer `2` (see `real-text.ts`).
 */
import type { QueryOutputFormat } from '../../contract/kinds/sql.js';
import type { ChunkWriter } from './chunk-writer.js';
import { PLAIN_REAL_LIMIT, PLAIN_REAL_MIN, realText } from './real-text.js';

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

/** The characters that make RFC 4180 quote a field, by code. */
const CSV_QUOTED = new Uint8Array(128);
for (const code of [COMMA, QUOTE, LF, CR]) CSV_QUOTED[code] = 1;

function csvText(text: string): string {
  return needsQuotes(text) ? `"${text.replace(ALL_QUOTES, '""')}"` : text;
}

/** Blobs as uppercase hex, as SQLite's `hex()` writes them. */
function hex(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex').toUpperCase();
}

const DOT = 0x2e;
const ZERO = 0x30;

/** Writes one CSV field. NULL is an empty field; an empty text is `""`, as the sqlite3 shell writes it. */
function writeCsvField(value: unknown, out: ChunkWriter): void {
  switch (typeof value) {
    case 'string':
      if (value.length === 0) out.bytePair(QUOTE, QUOTE);
      else if (!out.plainAscii(value, CSV_QUOTED)) out.text(csvText(value));
      return;
    case 'number':
      writeReal(value, out);
      return;
    case 'bigint': {
      // Exact when safe: any bigint beyond 2^53 - 1 converts to an unsafe number.
      const number = Number(value);
      if (Number.isSafeInteger(number)) out.integer(number);
      else out.text(value.toString());
      return;
    }
    default:
      if (value !== null && value !== undefined) out.text(hex(value as Uint8Array));
  }
}

/** A REAL as `realText` writes it; between 1e-4 and 1e15 that is JavaScript's own text (plus `.0` for a whole number), written without allocating. */
function writeReal(value: number, out: ChunkWriter): void {
  const magnitude = value < 0 ? -value : value;
  if (magnitude >= PLAIN_REAL_MIN && magnitude < PLAIN_REAL_LIMIT) {
    if (Number.isInteger(value)) {
      out.integer(value);
      out.bytePair(DOT, ZERO);
    } else out.number(value);
  } else out.text(realText(value));
}

type FieldFormat = (value: unknown) => string;

function jsonValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // realText's forms (2.0, 1.0e+18, 1.5e-07) are all valid JSON numbers.
      return Number.isFinite(value) ? realText(value) : value > 0 ? '"Infinity"' : '"-Infinity"';
    case 'bigint':
      // JSON numbers have no size limit: the digits are written exactly.
      return value.toString();
    default:
      return value === null || value === undefined ? 'null' : `"${hex(value as Uint8Array)}"`;
  }
}

/**
 * CSV with a header row and CRLF line ends (RFC 4180); NULL is an empty field. Fields are
 * written as bytes, not joined into strings first: this is the hot loop of a large export.
 */
function csvEncoder(columns: readonly string[]): RowEncoder {
  return {
    head: `${columns.map(csvText).join(',')}\r\n`,
    row(values, _index, out) {
      for (let i = 0; i < values.length; i++) {
        if (i > 0) out.byte(COMMA);
        writeCsvField(values[i], out);
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

export function rowEncoder(format: QueryOutputFormat, columns: readonly string[]): RowEncoder {
  if (format === 'csv') return csvEncoder(columns);
  return format === 'json' ? jsonEncoder(columns, jsonValue) : jsonlEncoder(columns, jsonValue);
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
