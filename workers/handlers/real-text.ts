/**
 * How a REAL is written as text, in CSV and JSON output, and what csv.import reads back as a
 * REAL: the layout of the sqlite3 shell (`%!.15g`: always a decimal point or an exponent, so that
 * 2.0 stays apart from the integer 2; exponent form below 1e-4 and from 1e15 on, as `1.0e+18`),
 * with the digits of the shortest decimal that reads back as the same double. Those are the
 * shell's own digits whenever 15 significant digits are enough; where they are not (0.1 + 0.2,
 * 2^53 + 2), the shell's text would read back as another number, and one or two more digits
 * are written instead.
 */

/** A finite double's text; -0.0 is written as 0.0 (SQLite keeps no negative zero in its text either). */
export function realText(value: number): string {
  if (value === 0) return '0.0';
  if (!Number.isFinite(value)) return value > 0 ? 'Inf' : '-Inf';
  // The shell's 15 digits when they read back, else the shortest that do; in exponent form
  // whatever the size ("1.23450000000000e+2"). For normal doubles 15 digits read back exactly
  // when the shortest has at most 15, and are then the same digits; subnormals, with fewer
  // bits, can differ (5e-324 is 4.94065645841247e-324 in the shell).
  let written = value.toExponential(14);
  if (Number(written) !== value) written = value.toExponential();
  const e = written.indexOf('e');
  const negative = value < 0;
  let end = e;
  while (written.charCodeAt(end - 1) === 0x30) end--;
  const digits = written.slice(negative ? 1 : 0, end).replace('.', '');
  const exponent = Number(written.slice(e + 1));
  let body: string;
  if (exponent < -4 || exponent >= 15) {
    const power = exponent < 0 ? -exponent : exponent;
    body = `${digits[0]}.${digits.length > 1 ? digits.slice(1) : '0'}e${exponent < 0 ? '-' : '+'}${power < 10 ? '0' : ''}${power}`;
  } else if (exponent < 0) {
    body = `0.${'0'.repeat(-exponent - 1)}${digits}`;
  } else if (digits.length <= exponent + 1) {
    body = `${digits}${'0'.repeat(exponent + 1 - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  }
  return negative ? `-${body}` : body;
}

/** Within these bounds a REAL is written without an exponent: JavaScript's own text, plus `.0` for a whole number. */
export const PLAIN_REAL_MIN = 1e-4;
export const PLAIN_REAL_LIMIT = 1e15;
