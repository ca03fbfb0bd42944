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

/**
 * Reals are written as the sqlite3 shell writes them, byte for byte, except where the shell's 15
 * digits would read back as another number: there they must read back as the stored value, which
 * `quote()` prints in full. `exact` holds the CLI's quote() of the same cells.
 */
function expectShellReals(ours: string[][], cli: string[][], exact: string[][], columns: number[]): void {
  for (let r = 1; r < ours.length; r++) {
    for (const c of columns) {
      const cell = ours[r]![c]!;
      const shell = cli[r]![c]!;
      if (cell === shell) continue;
      const where = `column ${ours[0]![c]} of row ${ours[r]![0]}: ours ${cell}, the shell's ${shell}, exactly ${exact[r]![c]}`;
      expect(Number(shell), where).not.toBe(Number(exact[r]![c]));
      expect(Number(cell), where).toBe(Number(exact[r]![c]));
    }
  }
}

/** The cells of `columns` as quote() prints them: every digit of a real. */
function exactValues(db: string, columns: string): string[][] {
  return sqlite3Csv(db, `SELECT ${columns.split(', ').map((c) => `quote(${c.split(' ')[0]}) AS ${c.split(' ').pop()}`).join(', ')} FROM v`);
}

describe('sql.query, large exports', () => {
  it('writes megabytes of awkward values in chunks, as the sqlite3 CLI reads them, reals as it writes them', async () => {
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
    expectShellReals(ours, cli, exactValues(db, CLI_COLUMNS), [1, 2, 3, 7]);
    expect(readdirSync(dir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('writes integers beyond 2^53 exactly, after chunks were written', async () => {
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
    expectShellReals(ours, cli, exactValues(db, CLI_COLUMNS), [1, 2, 3, 7]);
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
    // The CSV's text of each value is the JSON's value: text to text, numbers by value.
    const same = (value: unknown, cell: string) => (value === null ? cell === '' : typeof value === 'number' ? cell !== '' && Number(cell) === value : String(value) === cell);
    const mismatched = lines.map((line) => Object.values(JSON.parse(line) as Record<string, unknown>)).filter((row, r) => row.some((value, c) => !same(value, csv[r]![c]!)));
    expect(mismatched.slice(0, 3)).toEqual([]);
  });
});
