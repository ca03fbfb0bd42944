/**
 * A table exported by `sql.query` to CSV and imported back by `csv.import` (without declared
 * columns) holds the same values of the same types, as the sqlite3 shell sees them:
 * `typeof(x)` and `quote(x)` (every digit of a real, every character of a text), and the
 * same declared column types. Random tables of INTEGER (64-bit extremes included), REAL
 * (exact and inexact decimals, extremes, infinities, -0.0), TEXT (empty, look-alike numbers)
 * and NULL. BLOBs do not survive CSV (they are written as hex text); docs/task-kinds.md says so.
 *
 * A column of text that all reads as numbers cannot keep its type through CSV, which has no
 * types (the sqlite3 shell's `.import` cannot either): each TEXT column holds one plain word.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../shared/open-database.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { sqlite3Json } from '../reliability/sqlite-cli.js';
import { runTask, succeeded } from './kind-fixture.js';

type ColumnType = 'INTEGER' | 'REAL' | 'TEXT';
type Cell = bigint | number | string | null;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const integers = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.integer().map(BigInt),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n, -1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 1000000000000000001n, 9007199254740993n),
);
const reals = fc.oneof(
  fc.double({ noNaN: true }),
  fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 100),
  fc.integer().map((n) => n * 1.0),
  fc.constantFrom(2.0, -0.0, 1e18, 1.5e-7, 0.1, 0.30000000000000004, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53, 1e15, 1e-4, 1e-5, Infinity, -Infinity),
);
const texts = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('', ' ', '007', ' 1', '1 ', '1e5', '1.50', '-0', '+1', '.5', '2.0', '1', '0x10', 'Inf', 'NULL', '""', '"', 'a,b', 'two\nlines', 'cr\rlf\r\n', '9223372036854775808', '9007199254740993.0'),
);
const cellOf: Record<ColumnType, fc.Arbitrary<Cell>> = { INTEGER: integers, REAL: reals, TEXT: texts };

const tables = fc
  .array(fc.constantFrom<ColumnType>('INTEGER', 'REAL', 'TEXT'), { minLength: 1, maxLength: 4 })
  .chain((types) =>
    fc.record({
      types: fc.constant(types),
      rows: fc.array(fc.tuple(...types.map((type) => fc.option(cellOf[type], { freq: 6, nil: null }))), { minLength: 1, maxLength: 15 }),
    }),
  );

function createTable(db: string, types: ColumnType[], rows: Cell[][]): void {
  const connection = openDatabase(db);
  connection.exec(`CREATE TABLE t (id INTEGER, ${types.map((type, i) => `c${i} ${type}`).join(', ')})`);
  const insert = connection.prepare(`INSERT INTO t VALUES (${['?', ...types.map(() => '?')].join(', ')})`);
  const marker: Record<ColumnType, Cell> = { INTEGER: 0n, REAL: 0.5, TEXT: 'word' };
  connection.transaction(() => {
    rows.forEach((row, i) => insert.run(BigInt(i), ...row));
    insert.run(BigInt(rows.length), ...types.map((type) => marker[type]));
  })();
  connection.close();
}

/** Every cell as the shell sees it, and the declared column types. */
function seen(db: string, types: ColumnType[]) {
  const columns = ['id', ...types.map((_, i) => `c${i}`)];
  const cells = sqlite3Json<Record<string, string>>(db, `SELECT ${columns.map((c) => `typeof(${c}) || ' ' || quote(${c}) AS ${c}`).join(', ')} FROM t ORDER BY id`);
  const declared = sqlite3Json<{ name: string; type: string }>(db, "SELECT name, type FROM pragma_table_info('t')");
  return { declared, cells };
}

describe('CSV out of sql.query and back in through csv.import', () => {
  it('keeps every value and its type, as the sqlite3 shell reads them', async () => {
    const engine = makeEngine({ poolSize: 1 });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(tables, async ({ types, rows }) => {
        const dir = tempDir();
        const source = join(dir, 'source.sqlite');
        createTable(source, types, rows);
        succeeded(await runTask(engine, dir, { kind: 'sql.query', db: source, sql: 'SELECT * FROM t ORDER BY id', output: { path: 't.csv' } }));
        succeeded(await runTask(engine, dir, { kind: 'csv.import', file: 't.csv', db: 'back.sqlite', table: 't' }));
        expect(seen(join(dir, 'back.sqlite'), types)).toEqual(seen(source, types));
        runs++;
      }),
      { numRuns: 40 },
    );
    expect(runs).toBe(40);
  }, 120_000);
});
