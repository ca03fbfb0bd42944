/**
 * Text written as UTF-8 into one reused buffer that is handed to a sink whenever it fills.
 *
 * A large export formats millions of small values. Building them into strings and joining
 * those into big chunks allocates several times the output's size, and the joined chunk
 * keeps every piece alive until it is written, so the thread's heap grows with the chunk.
 * Writing each value's bytes straight into a buffer allocates nothing for ASCII text and
 * most numbers, and keeps the heap small whatever the output's size.
 */

/** Bytes gathered before the sink gets them: one system call per megabyte of output. */
export const CHUNK_BYTES = 1 << 20;

/** Below 2^52 doubles are less than 1 apart, so a scaled value below it pins one decimal: see `writeDecimal`. */
const TWO_POW_52 = 2 ** 52;
/** Powers of ten a double holds exactly, by exponent. */
const POWERS_OF_TEN = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const MAX_DECIMALS = POWERS_OF_TEN.length - 1;
/** Below this, JavaScript writes numbers in exponent form (1e-7). */
const SMALLEST_PLAIN = 1e-6;

const MAX_INT32 = 0x7fffffff;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;

export class ChunkWriter {
  private readonly bytes: Buffer;
  private used = 0;

  /** `sink` gets a view of the buffer that is valid only during the call: write it or copy it. */
  constructor(
    private readonly sink: (bytes: Buffer) => void,
    size = CHUNK_BYTES,
  ) {
    this.bytes = Buffer.allocUnsafe(size);
  }

  /** Hands the gathered bytes to the sink. */
  flush(): void {
    if (this.used === 0) return;
    const used = this.used;
    this.used = 0;
    this.sink(this.bytes.subarray(0, used));
  }

  /** One ASCII character, by code. */
  byte(code: number): void {
    if (this.used === this.bytes.length) this.flush();
    this.bytes[this.used++] = code;
  }

  /** Two ASCII characters (a CRLF line end, a `","` separator). */
  bytePair(first: number, second: number): void {
    if (this.used + 2 > this.bytes.length) this.flush();
    this.bytes[this.used++] = first;
    this.bytes[this.used++] = second;
  }

  /** A string as UTF-8 (lone surrogates as U+FFFD, as Buffer.from writes them). */
  text(text: string): void {
    const length = text.length;
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (length * 3 > this.bytes.length - this.used) {
      this.flush();
      if (length * 3 > this.bytes.length) {
        this.sink(Buffer.from(text, 'utf8'));
        return;
      }
    }
    const bytes = this.bytes;
    const start = this.used;
    // Short ASCII text, the usual case, is cheaper to copy here than through a native call.
    if (length <= 64) {
      let at = start;
      for (let i = 0; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) {
          at = -1;
          break;
        }
        bytes[at++] = code;
      }
      if (at >= 0) {
        this.used = at;
        return;
      }
    }
    this.used = start + bytes.write(text, start, 'utf8');
  }

  /**
   * Writes short ASCII text that holds none of the characters `stop` marks (by code, below 128)
   * and returns true; returns false having written nothing for any other text. One pass over the
   * text, for a format's plain case (a CSV field that needs no quotes).
   */
  plainAscii(text: string, stop: Uint8Array): boolean {
    const length = text.length;
    if (length > 64 || length > this.bytes.length) return false;
    if (this.used + length > this.bytes.length) this.flush();
    const bytes = this.bytes;
    const start = this.used;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80 || stop[code] !== 0) return false;
      bytes[start + i] = code;
    }
    this.used = start + length;
    return true;
  }

  /** A number as `String(value)` writes it, digit for digit. */
  number(value: number): void {
    if (Number.isSafeInteger(value)) this.integer(value);
    else if (!this.writeDecimal(value)) this.text(String(value));
  }

  /** A safe integer (|value| <= 2^53 - 1); -0 is written as 0, as String(-0) is. */
  integer(value: number): void {
    if (this.used + 17 > this.bytes.length) this.flush();
    let rest = value;
    if (rest < 0) {
      this.bytes[this.used++] = MINUS;
      rest = -rest;
    }
    let digits = 1;
    for (let power = 10; power <= rest; power *= 10) digits++;
    this.writeDigits(rest, digits);
  }

  /** Writes the `digits` low decimal digits of a non-negative safe integer, zero-padded. */
  private writeDigits(value: number, digits: number): void {
    const bytes = this.bytes;
    const start = this.used;
    let at = start + digits;
    this.used = at;
    let rest = value;
    // In doubles while above 2^31 - 1: a safe integer divided by 10 never rounds up to the next
    // integer, and the digit is taken before adding '0' so that no sum passes 2^53.
    while (rest > MAX_INT32 && at > start) {
      const quotient = Math.floor(rest / 10);
      bytes[--at] = ZERO + (rest - quotient * 10);
      rest = quotient;
    }
    // Then in 32-bit integers, which is much cheaper.
    let small = rest | 0;
    while (at > start) {
      const quotient = (small / 10) | 0;
      bytes[--at] = ZERO + (small - quotient * 10);
      small = quotient;
    }
  }

  /**
   * Writes a non-integer that is a short decimal (at most 9 decimals, like 19.99 or 0.0375) the
   * way String() does, without allocating; false for other numbers, which String() then writes.
   *
   * Why this is String()'s text: with k the fewest decimals for which round(x * 10^k) / 10^k
   * gives x back, D = round(x * 10^k) / 10^k is a decimal that reads back as x, and its last
   * decimal is not 0. Below 2^52 / 10^k, doubles near x are less than 10^-k apart, so no other
   * decimal with k or fewer decimals reads back as x, and a decimal with more decimals has more
   * digits: D is the shortest, hence the one ECMAScript's Number::toString prints. Numbers below
   * 1e-6 are printed in exponent form and are left to String().
   */
  private writeDecimal(value: number): boolean {
    const magnitude = value < 0 ? -value : value;
    if (!(magnitude >= SMALLEST_PLAIN)) return false; // also NaN
    for (let decimals = 1; decimals <= MAX_DECIMALS; decimals++) {
      const scale = POWERS_OF_TEN[decimals]!;
      if (magnitude * scale >= TWO_POW_52) return false;
      const scaled = Math.round(magnitude * scale);
      if (scaled / scale !== magnitude) continue;
      // A sign, at most 16 digits before the dot, the dot, at most 9 after it.
      if (this.used + 27 > this.bytes.length) this.flush();
      if (value < 0) this.bytes[this.used++] = MINUS;
      // Exact either way; 32-bit integer division is the cheap one.
      const whole = scaled <= MAX_INT32 ? ((scaled | 0) / scale) | 0 : Math.floor(scaled / scale);
      const fraction = scaled - whole * scale;
      let digits = 1;
      for (let power = 10; power <= whole; power *= 10) digits++;
      this.writeDigits(whole, digits);
      this.bytes[this.used++] = DOT;
      this.writeDigits(fraction, decimals);
      return true;
    }
    return false;
  }
}
