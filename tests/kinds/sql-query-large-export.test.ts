import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SqlQueryResult } from '../../workers/handlers/sql-query.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { expectSameRows, parseCsv, runTask, sqlite3, sqlite3Csv, succeeded } from './kind-fixture.js';

const ROWS = 40_000;
/** The row holding one text value far longer than an output chunk (1 MB). */
const LONG_ROW = 20_000;
/** The row holding an integer beyond 2^53, after several chunks were written. */
const BIG_ROW = 39_000;

/**
 * Several megabytes of awkward values: reals with 0 to 7 decimals, reals with every digit,
 * tiny reals (exponent form), 53-bit integers, text to quote, text beyond the BMP, CRLF
 * inside fields, blobs, NULLs, a column of mixed types, and one text of about 4 MB.
 */
function writeLargeDatabase(dir: string): string {
  const db = join(dir, 'large.sqlite');
  sqlite3(
    db,
    `CREATE TABLE v (id INTEGER PRIMARY KEY, r1 REAL, r2 REAL, r3 REAL, i INTEGER, t TEXT, b BLOB, n);
     WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < ${ROWS})
     INSERT INTO v SELECT x,
       round((random() % 100000000) / 1000.0, abs(random() % 8)),
       (random() % 1000000000) / 997.0,
       (random() % 1000) * 1e-9,
       random() % 9007199254740991,
       CASE x % 6 WHEN 0 THEN 'say "hi", friend' WHEN 1 THEN 'ünïcödé ✓ 😀 ' || x WHEN 2 THEN 'line' || char(13, 10) || 'break'
         WHEN 3 THEN NULL ELSE 'plain ' || x END,
       CASE WHEN x % 5 = 0 THEN randomblob(x % 9) END,
       CASE x % 4 WHEN 0 THEN NULL WHEN 1 THEN x * 1.5 WHEN 2 THEN 'x' || x ELSE x END
     FROM k;
     UPDATE v SET t = replace(hex(zeroblob(700000)), '00', 'a✓,"') WHERE id = ${LONG_ROW};`,
  );
  return db;
}

/** The CLI prints blobs as raw bytes; SQLite's hex() is what Threadline writes. */
const CLI_COLUMNS = 'id, r1, r2, r3, i, t, hex(b) AS b, n';

/** Numeric cells must read as JavaScript prints the number: the shortest text that reads back the same. */
function expectCanonicalNumbers(rows: string[][], columns: number[]): void {
  for (const row of rows.slice(1)) {
    for (const c of columns) {
      const cell = row[c]!;
      // Empty is NULL; not a number is text in a column of mixed types.
      if (cell === '' || Number.isNaN(Number(cell))) continue;
      if (String(Number(cell)) !== cell) expect(cell, `column ${rows[0]![c]} of row ${row[0]}`).toBe(String(Number(cell)));
    }
  }
}

describe('sql.query, large exports', () => {
  it('writes megabytes of awkward values in chunks, as the sqlite3 CLI reads them, numbers as JavaScript prints them', async () => {
    const dir = tempDir();
    const db = writeLargeDatabase(dir);
    const engine = makeEngine();
    const result = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'large.sqlite', sql: 'SELECT * FROM v', output: { path: 'v.csv' } }));
    const file = join(dir, 'v.csv');
    expect(statSync(file).size).toBeGreaterThan(6 * 2 ** 20);
    expect(result.output).toEqual({ path: file, format: 'csv', bytes: statSync(file).size });
    expect(result.rowCount).toBe(ROWS);

    const ours = parseCsv(readFileSync(file, 'utf8'));
    const cli = sqlite3Csv(db, `SELECT ${CLI_COLUMNS} FROM v`);
    expectSameRows(ours, cli);
    // Integers exactly (the comparison above reads numbers to 15 digits), and the long text whole.
    expect(ours.map((row) => row[4])).toEqual(cli.map((row) => row[4]));
    expect(ours[LONG_ROW]![5]).toBe('a✓,"'.repeat(700_000));
    expectCanonicalNumbers(ours, [1, 2, 3, 4, 7]);
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('starts again with exact integers when one beyond 2^53 comes after chunks were written', async () => {
    const dir = tempDir();
    const db = writeLargeDatabase(dir);
    sqlite3(db, `UPDATE v SET i = 9223372036854775807 WHERE id = ${BIG_ROW}; UPDATE v SET i = -9007199254740993 WHERE id = ${BIG_ROW + 1};`);
    const engine = makeEngine();
    const result = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'large.sqlite', sql: 'SELECT * FROM v', output: { path: 'v.csv' } }));
    const file = join(dir, 'v.csv');
    expect(result.output?.bytes).toBe(statSync(file).size);

    const ours = parseCsv(readFileSync(file, 'utf8'));
    const cli = sqlite3Csv(db, `SELECT ${CLI_COLUMNS} FROM v`);
    expect(ours).toHaveLength(ROWS + 1);
    expectSameRows(ours, cli);
    expect(ours.map((row) => row[4])).toEqual(cli.map((row) => row[4]));
    expect(ours[BIG_ROW]![4]).toBe('9223372036854775807');
    expect(ours[BIG_ROW + 1]![4]).toBe('-9007199254740993');
    expectCanonicalNumbers(ours, [1, 2, 3, 7]);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it('writes the same values as JSON Lines, line by line, long lines included', async () => {
    const dir = tempDir();
    writeLargeDatabase(dir);
    const engine = makeEngine();
    const sql = 'SELECT r1, r2, r3, i, t, n FROM v ORDER BY id';
    succeeded(await runTask(engine, dir, { kind: 'sql.query', db: 'large.sqlite', sql, output: { path: 'v.csv' } }));
    const jsonl = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'large.sqlite', sql, output: { path: 'v.jsonl' } }));
    expect(jsonl.output?.bytes).toBe(statSync(join(dir, 'v.jsonl')).size);

    const csv = parseCsv(readFileSync(join(dir, 'v.csv'), 'utf8')).slice(1);
    const lines = readFileSync(join(dir, 'v.jsonl'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(ROWS);
    // The CSV's text of each value is the JSON's value: CSV has no types, so text compares to text.
    const asCsv = (value: unknown) => (value === null ? '' : String(value));
    const jsonRows = lines.map((line) => Object.values(JSON.parse(line) as Record<string, unknown>).map(asCsv));
    const mismatched = jsonRows.filter((row, r) => row.join('\u0000') !== csv[r]!.join('\u0000'));
    expect(mismatched.slice(0, 3)).toEqual([]);
  });
});
