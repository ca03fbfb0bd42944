import { describe, expect, it } from 'vitest';
import { ChunkWriter } from '../../workers/handlers/chunk-writer.js';

/** A seeded generator (mulberry32), so that a failure names a value that can be found again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Everything a writer gave its sink, copied (the sink's view is only valid during the call). */
function collect(size: number, write: (out: ChunkWriter) => void): { bytes: Buffer; chunks: number[] } {
  const parts: Buffer[] = [];
  const out = new ChunkWriter((bytes) => parts.push(Buffer.from(bytes)), size);
  write(out);
  out.flush();
  return { bytes: Buffer.concat(parts), chunks: parts.map((part) => part.length) };
}

/** The numbers a CSV export meets, and the edges of the decimal shortcut. */
function numbers(): number[] {
  const next = random(20261124);
  const values: number[] = [
    0, -0, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, -2 / 3, 0.5, -0.5, 1.005, 2.675, 19.99, 0.0375,
    1e-6, -1e-6, 1.5e-6, 9.99999e-7, 1e-7, 0.000001, 0.0000015, 999999.9999999, 9.999999999, 1e15 + 0.3, 1e-9, 1.000000001,
    Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, Number.MAX_VALUE, Number.EPSILON,
    2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 31 + 0.5, 2 ** 32 + 0.25, 2 ** 52 - 0.5, 2 ** 51 + 0.5, 4503599627370495.5,
    Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, -1e21,
    Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
    // Literals with more digits than a double holds, read as JavaScript reads them.
    ...['123456789.123456789', '450359962737049.55', '45035996273704.955', '999999999999999900000'].map(Number),
  ];
  // Just below and above the largest value the shortcut takes for each number of decimals.
  for (let decimals = 1; decimals <= 10; decimals++) {
    const limit = 2 ** 52 / 10 ** decimals;
    for (const factor of [0.999999, 0.9999999999, 1, 1.0000000001, 1.000001]) {
      values.push(Math.round(limit * factor * 10 ** decimals) / 10 ** decimals, limit * factor);
    }
  }
  const dv = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 60_000; i++) {
    const sign = next() < 0.5 ? -1 : 1;
    // Short decimals at every magnitude: what real columns mostly hold.
    const decimals = Math.floor(next() * 12);
    const magnitude = 10 ** Math.floor(next() * 24 - 8);
    values.push((sign * Math.round(next() * magnitude * 10 ** decimals)) / 10 ** decimals);
    // Computed values with all 17 digits, at every magnitude.
    values.push(sign * next() * 10 ** (next() * 44 - 22));
    // Any double at all: random bit patterns (subnormals, NaNs, infinities included).
    dv.setUint32(0, Math.floor(next() * 2 ** 32));
    dv.setUint32(4, Math.floor(next() * 2 ** 32));
    values.push(dv.getFloat64(0));
    // Integers of every length up to 2^53 and beyond.
    values.push(sign * Math.floor(next() * 2 ** Math.floor(next() * 60)));
  }
  return values;
}

describe('sql.query output chunks', () => {
  it('writes every number digit for digit as String() does', () => {
    const values = numbers();
    for (const size of [64, 1 << 20]) {
      const { bytes } = collect(size, (out) => {
        for (const value of values) {
          out.number(value);
          out.byte(0x0a);
        }
      });
      const lines = bytes.toString('latin1').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(values.length);
      const wrong = values.map((value, i) => [value, lines[i]] as const).filter(([value, line]) => line !== String(value));
      expect(wrong.slice(0, 5).map(([value, line]) => `${String(value)} written as ${line}`)).toEqual([]);
    }
  });

  it('writes safe integers with integer(), -0 as 0', () => {
    const values = [0, -0, 7, -7, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 1e15, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    const { bytes } = collect(40, (out) => {
      for (const value of values) {
        out.integer(value);
        out.byte(0x2c);
      }
    });
    expect(bytes.toString('latin1')).toBe(`${values.map(String).join(',')},`);
  });

  it('writes text as UTF-8, as Buffer.from does, across chunk ends and beyond a chunk', () => {
    const next = random(7);
    const alphabet = ['a', 'Z', '0', ',', '"', '\r', '\n', ' ', '\u0000', '\u007f', 'é', 'ß', '✓', '中', '😀', '\ud800', '\udc00', '\uffff'];
    const texts: string[] = ['', 'x'.repeat(64), 'x'.repeat(63) + 'é', 'é' + 'x'.repeat(64), '✓'.repeat(200)];
    for (let i = 0; i < 3000; i++) {
      const length = Math.floor(next() ** 3 * 300);
      const ascii = next() < 0.6;
      let text = '';
      for (let c = 0; c < length; c++) text += ascii ? String.fromCharCode(0x20 + Math.floor(next() * 95)) : alphabet[Math.floor(next() * alphabet.length)]!;
      texts.push(text);
    }
    const expected = Buffer.concat(texts.map((text) => Buffer.from(text, 'utf8')));
    for (const size of [16, 100, 1000, 1 << 20]) {
      const { bytes, chunks } = collect(size, (out) => texts.forEach((text) => out.text(text)));
      expect(bytes.equals(expected), `chunks of ${size} bytes`).toBe(true);
      // Only text too long for a chunk goes to the sink whole; every other write fits a chunk.
      expect(chunks.filter((length) => length > size).every((length) => texts.some((text) => Buffer.byteLength(text) === length))).toBe(true);
    }
  });

  it('keeps the order of mixed writes and hands over nothing empty', () => {
    const { bytes, chunks } = collect(8, (out) => {
      out.text('id,name');
      out.bytePair(0x0d, 0x0a);
      for (let i = 0; i < 50; i++) {
        out.integer(i * 1001);
        out.byte(0x2c);
        out.number(i / 8);
        out.byte(0x2c);
        out.text(`n ${i} ✓`);
        out.bytePair(0x0d, 0x0a);
      }
      out.flush();
      out.flush();
    });
    const rows = Array.from({ length: 50 }, (_, i) => `${i * 1001},${i / 8},n ${i} ✓\r\n`);
    expect(bytes.toString('utf8')).toBe(`id,name\r\n${rows.join('')}`);
    expect(chunks.every((length) => length > 0)).toBe(true);
  });

  it('writes plain ASCII text in one pass and writes nothing of text it refuses (a stop character, non-ASCII, longer than 64)', () => {
    const stop = new Uint8Array(128);
    for (const code of [0x2c, 0x22, 0x0a, 0x0d]) stop[code] = 1;
    const texts = ['plain note 7', 'item 123', 'say "hi", friend', 'a,b', 'line\r\nbreak', 'ünïcödé', '😀', 'x'.repeat(64), 'y'.repeat(65), ' spaced ', '~'];
    for (const size of [8, 70, 1 << 20]) {
      const taken: boolean[] = [];
      const { bytes } = collect(size, (out) =>
        texts.forEach((text) => {
          const plain = out.plainAscii(text, stop);
          taken.push(plain);
          // What it refuses goes on as other text, to show that nothing of it was written before.
          if (!plain) out.text(`[${text}]`);
        }),
      );
      // (Text longer than the whole buffer is refused too: the plain path never writes past it.)
      const plain = [true, true, false, false, false, false, false, true, false, true, true];
      expect(taken).toEqual(plain.map((yes, i) => yes && texts[i]!.length <= size));
      expect(bytes.toString('utf8'), `chunks of ${size} bytes`).toBe(texts.map((text, i) => (taken[i] ? text : `[${text}]`)).join(''));
    }
  });
});
