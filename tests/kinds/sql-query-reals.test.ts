/**
 * REALs in `sql.query` output: CSV as the sqlite3 shell writes them (`sqlite3 -csv`), byte for
 * byte, except where the shell's 15 digits would read back as another number; JSON valid, with
 * the same texts. Values are bound from JavaScript, so the stored doubles are exactly the ones
 * listed; `quote()` in the shell shows every digit of what was stored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../shared/open-database.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { parseCsv, runTask, succeeded, tool } from './kind-fixture.js';

const TRICKY = [
  2.0, -0.0, 1e18, 1.5e-7, 0.1, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308, Number('9007199254740993.0'),
  0.30000000000000004, 1e15, 1e16, 123456789012345.0, 1234567890123456.0, 1e-4, 1e-5, 0.00012345, 100.0, 12345.678, -1.5, 1 / 3,
  Infinity, -Infinity, 1e21, 4.35, 1e300, -2.5e-300,
];

/** Reals that cover the layouts and digit counts: random doubles, short decimals, powers of ten. */
function randomReals(count: number): number[] {
  let seed = 0x2545f491;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const values: number[] = [];
  const bits = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < count; i++) {
    switch (i % 3) {
      case 0:
        bits.setUint32(0, (next() * 2 ** 32) >>> 0);
        bits.setUint32(4, (next() * 2 ** 32) >>> 0);
        if (Number.isFinite(bits.getFloat64(0))) values.push(bits.getFloat64(0));
        break;
      case 1:
        values.push(Math.round((next() - 0.5) * 10 ** (1 + Math.floor(next() * 12))) / 10 ** Math.floor(next() * 10));
        break;
      default:
        values.push((next() < 0.5 ? -1 : 1) * Number(`${Math.ceil(next() * 9)}e${Math.floor(next() * 40) - 20}`));
    }
  }
  return values;
}

function writeReals(db: string, values: number[]): void {
  const connection = openDatabase(db);
  connection.exec('CREATE TABLE r (id INTEGER PRIMARY KEY, x REAL)');
  const insert = connection.prepare('INSERT INTO r (id, x) VALUES (?, ?)');
  connection.transaction(() => values.forEach((value, i) => insert.run(i + 1, value)))();
  connection.close();
}

function shell(db: string, sql: string): string[] {
  return tool('sqlite3', ['-batch', '-csv', db, sql]).split(/\r?\n/).slice(0, -1);
}

describe('sql.query writes REALs', () => {
  it('in CSV as the sqlite3 shell does, with more digits only where its 15 would read back as another number', async () => {
    const dir = tempDir();
    const db = join(dir, 'reals.sqlite');
    const values = [...TRICKY, ...randomReals(3000)];
    writeReals(db, values);
    const engine = makeEngine();
    succeeded(await runTask(engine, dir, { kind: 'sql.query', db, sql: 'SELECT x FROM r ORDER BY id', output: { path: 'r.csv' } }));
    const ours = parseCsv(readFileSync(join(dir, 'r.csv'), 'utf8')).slice(1).map((row) => row[0]!);
    const theirs = shell(db, 'SELECT x FROM r ORDER BY id');
    const exact = shell(db, 'SELECT quote(x) FROM r ORDER BY id');
    expect(ours).toHaveLength(values.length);
    expect(theirs).toHaveLength(values.length);

    let same = 0;
    for (let i = 0; i < values.length; i++) {
      const where = `value ${values[i]}: ours ${ours[i]}, the shell's ${theirs[i]}, stored ${exact[i]}`;
      // Always a REAL's text: a decimal point or an exponent, never the look of an integer.
      expect(ours[i], where).toMatch(/^-?(\d+\.\d+(e[-+]\d{2,3})?|Inf)$/);
      if (ours[i] === theirs[i]) {
        same++;
        continue;
      }
      expect(Number(theirs[i]), where).not.toBe(Number(exact[i]));
      expect(Number(ours[i]), where).toBe(Number(exact[i]));
    }
    // The tricky ones by name: the shell's text where it keeps the value, ours where it does not.
    expect(ours.slice(0, TRICKY.length)).toEqual([
      '2.0', '0.0', '1.0e+18', '1.5e-07', '0.1', '1.7976931348623157e+308', '-1.7976931348623157e+308', '4.94065645841247e-324',
      '2.2250738585072014e-308', '9.007199254740992e+15', '0.30000000000000004', '1.0e+15', '1.0e+16', '123456789012345.0',
      '1.234567890123456e+15', '0.0001', '1.0e-05', '0.00012345', '100.0', '12345.678', '-1.5', '0.3333333333333333', 'Inf', '-Inf',
      '1.0e+21', '4.35', '1.0e+300', '-2.5e-300',
    ]);
    // Most values with 15 or fewer digits: the shell's bytes.
    expect(same).toBeGreaterThan(values.length / 2);
  });

  it('in JSON as valid JSON numbers with the same texts, infinities as strings', async () => {
    const dir = tempDir();
    const db = join(dir, 'reals.sqlite');
    writeReals(db, TRICKY);
    const engine = makeEngine();
    succeeded(await runTask(engine, dir, { kind: 'sql.query', db, sql: 'SELECT x, CAST(x AS INTEGER) AS i FROM r WHERE abs(x) < 1e18 ORDER BY id', output: { path: 'r.json' } }));
    const text = readFileSync(join(dir, 'r.json'), 'utf8');
    const rows = JSON.parse(text) as Array<{ x: number | string; i: number }>;
    expect(rows.slice(0, 3)).toEqual([{ x: 2, i: 2 }, { x: 0, i: 0 }, { x: 1.5e-7, i: 0 }]);
    expect(text).toContain('{"x":2.0,"i":2}');
    expect(text).toContain('{"x":1.5e-07,"i":0}');
    expect(text).toContain('{"x":0.30000000000000004,"i":0}');
    for (const row of rows) if (typeof row.x === 'number') expect(Number.isFinite(row.x)).toBe(true);
  });
});
