/**
 * What a CSV field holds, read so that no value changes: a field is a number only when the
 * number keeps everything the text says. Integers are exact within SQLite's 64 bits (bigints
 * beyond 2^53); a decimal is a REAL only when the double it reads as has the same decimal
 * value (0.1, 19.90, 1.0e+18, but not 9007199254740993.0, which a double cannot hold). Anything
 * else is text, kept as written.
 */
import { realText } from './real-text.js';

export const enum FieldKind {
  Integer = 0,
  Real = 1,
  Text = 2,
  /** Text that SQLite's column affinity would turn into a number it does not equal as written ('007', ' 1', '1e999', 2^64). */
  NumericText = 3,
}

/** An integer as written by SQLite and the sqlite3 shell: no sign but '-', no leading zero, at most 19 digits. */
const INTEGER = /^-?(0|[1-9]\d{0,18})$/;
/** A decimal with a point or an exponent (or both), no leading zero. */
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+([eE][-+]?\d+)?|[eE][-+]?\d+)$/;
/** What SQLite's affinity reads as a number (sqlite3AtoF: ASCII spaces around, a sign, digits, a point, an exponent). */
const SQLITE_NUMBER = /^[ \t\n\v\f\r]*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[ \t\n\v\f\r]*$/;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** An integer of at most 15 characters (15 digits) is below 2^53: a number holds it. */
const SAFE_INTEGER_CHARS = 15;

export function fieldKind(text: string): FieldKind {
  if (INTEGER.test(text)) return text === '-0' || (text.length > SAFE_INTEGER_CHARS && integerValue(text) === null) ? FieldKind.NumericText : FieldKind.Integer;
  if (realValue(text) !== null) return FieldKind.Real;
  return SQLITE_NUMBER.test(text) ? FieldKind.NumericText : FieldKind.Text;
}

/** The exact value of an integer field (a bigint beyond 2^53), or null outside 64 bits. */
export function integerValue(text: string): number | bigint | null {
  if (text.length <= SAFE_INTEGER_CHARS) return Number(text);
  const value = BigInt(text);
  if (value < INT64_MIN || value > INT64_MAX) return null;
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value;
}

/** Whether a REAL column holds this integer exactly (doubles hold every integer up to 2^53, and some beyond). */
export function realHoldsInteger(value: number | bigint): boolean {
  return typeof value === 'number' || BigInt(Number(value)) === value;
}

/** The double a decimal field stands for, when it stands for it exactly; `Inf` and `-Inf` as the shell writes infinities. */
export function realValue(text: string): number | null {
  if (text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!DECIMAL.test(text)) return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return null;
  // The usual cases, checked first: the text is JavaScript's shortest for this double
  // ("19.99"), or the one sql.query writes for it ("2.0", "1.0e+18").
  if (String(value) === text || realText(value) === text) return value;
  return decimalOf(text) === decimalOf(value.toExponential()) ? value : null;
}

/** A decimal's value as significant digits and the place of the point: "19.90" and "1.99e+1" are both "199@2". */
function decimalOf(text: string): string {
  const negative = text.charCodeAt(0) === 0x2d;
  const e = text.search(/[eE]/);
  const mantissa = e < 0 ? text.slice(negative ? 1 : 0) : text.slice(negative ? 1 : 0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  let digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  let point = (dot < 0 ? mantissa.length : dot) + exponent;
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === 0x30) start++;
  point -= start;
  digits = digits.slice(start).replace(/0+$/, '');
  // Zero has no sign a REAL keeps (SQLite writes -0.0 as 0.0).
  if (digits === '') return '0';
  return `${negative ? '-' : ''}${digits}@${point}`;
}
