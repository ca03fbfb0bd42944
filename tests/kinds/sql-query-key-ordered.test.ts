import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine/engine.js';
import type { SqlQueryResult } from '../../workers/handlers/sql-query.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { copyChinook, expectSameRows, parseCsv, runTask, sqlite3, sqlite3Csv, startTask, succeeded, waitForProgress } from './kind-fixture.js';

/** More rows than SPLIT_MIN_ROWS (200,000): large enough to be split into key ranges. */
const ROWS = 210_000;
/** Threads a large export is read on, on this machine. */
const THREADS = Math.min(availableParallelism(), 4);
const SPLIT_LOG = /^rows read on (\d) threads at once, in (\d+) key ranges taken in turn: (\d+) by the task's thread$/;

/**
 * Awkward values in every range: 64-bit integers, reals of every kind, text to quote, text beyond
 * the BMP, CRLF inside fields, blobs, NULLs, empty text, and a column of mixed types. `keys` gives
 * the row's key from x, its number from 1.
 */
function writeTable(db: string, keys: string, options: { wal?: boolean } = {}): void {
  sqlite3(
    db,
    `${options.wal ? 'PRAGMA journal_mode = WAL;' : ''}
     CREATE TABLE v (id INTEGER PRIMARY KEY, r1 REAL, r2 REAL, i INTEGER, t TEXT, b BLOB, n);
     WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < ${ROWS})
     INSERT INTO v SELECT ${keys},
       round((random() % 100000000) / 1000.0, abs(random() % 8)),
       CASE x % 5 WHEN 0 THEN (random() % 1000000000) / 997.0 WHEN 1 THEN 1e20 * x WHEN 2 THEN -0.0 WHEN 3 THEN 1.5e-7 ELSE 0.1 + 0.2 END,
       CASE x % 3 WHEN 0 THEN random() WHEN 1 THEN 9007199254740993 ELSE x END,
       CASE x % 7 WHEN 0 THEN 'say "hi", friend' WHEN 1 THEN 'ünïcödé ✓ 😀 ' || x WHEN 2 THEN 'line' || char(13, 10) || 'break'
         WHEN 3 THEN NULL WHEN 4 THEN '' WHEN 5 THEN ' spaced ' ELSE 'plain ' || x END,
       CASE WHEN x % 5 = 0 THEN randomblob(x % 9) END,
       CASE x % 4 WHEN 0 THEN NULL WHEN 1 THEN x * 1.5 WHEN 2 THEN 'x' || x ELSE x END
     FROM k;`,
  );
}

/** The same rows read as one statement: a query outside the key-ordered shape. */
const KEYED = 'SELECT * FROM v ORDER BY id';
const UNKEYED = 'SELECT * FROM v WHERE 1 ORDER BY id';

async function exportTo(engine: Engine, dir: string, db: string, sql: string, path: string): Promise<{ result: SqlQueryResult; bytes: Buffer; logs: string[] }> {
  const task = await runTask(engine, dir, { kind: 'sql.query', db, sql, output: { path } });
  const result = succeeded<SqlQueryResult>(task);
  return { result, bytes: readFileSync(join(dir, path)), logs: engine.logsOf(task.key).map((line) => line.message) };
}

function expectSplit(logs: string[], split: boolean): void {
  const said = logs.map((line) => SPLIT_LOG.exec(line)).find((match) => match !== null);
  if (split && THREADS > 1) {
    expect(said?.[1]).toBe(String(THREADS));
    // The task's thread reads from the front until it meets the range threads: never more than all.
    expect(Number(said?.[3])).toBeLessThanOrEqual(Number(said?.[2]));
  } else expect(said).toBeUndefined();
  // No range thread failed or was given up.
  expect(logs.filter((line) => line.startsWith('key range thread'))).toEqual([]);
}

function expectNoLeftovers(dir: string): void {
  expect(readdirSync(dir).filter((name) => name.includes('.partial'))).toEqual([]);
}

describe('sql.query, key-ordered exports', () => {
  it('splits a large SELECT * ... ORDER BY key into key ranges on threads, byte for byte the file of one statement, as the sqlite3 CLI reads it', async () => {
    const dir = tempDir();
    const db = join(dir, 'dense.sqlite');
    writeTable(db, 'x');
    const engine = makeEngine();

    const keyed = await exportTo(engine, dir, 'dense.sqlite', KEYED, 'keyed.csv');
    const plain = await exportTo(engine, dir, 'dense.sqlite', UNKEYED, 'plain.csv');
    expectSplit(keyed.logs, true);
    expectSplit(plain.logs, false);
    expect(keyed.bytes.equals(plain.bytes)).toBe(true);
    expect(keyed.result.rowCount).toBe(ROWS);
    expect(keyed.result.preview).toEqual(plain.result.preview);
    expect(keyed.result.output?.bytes).toBe(keyed.bytes.length);

    // The CLI prints blobs as raw bytes; SQLite's hex() is what Threadline writes.
    const cli = sqlite3Csv(db, 'SELECT id, r1, r2, i, t, hex(b) AS b, n FROM v ORDER BY id');
    expectSameRows(parseCsv(keyed.bytes.toString('utf8')), cli);
    expectNoLeftovers(dir);
  });

  it('splits JSON Lines alike, and not JSON, whose first row is written unlike the others; the same bytes either way', async () => {
    const dir = tempDir();
    writeTable(join(dir, 'dense.sqlite'), 'x');
    const engine = makeEngine();
    const jsonl = await exportTo(engine, dir, 'dense.sqlite', KEYED, 'keyed.jsonl');
    expectSplit(jsonl.logs, true);
    expect(jsonl.bytes.equals((await exportTo(engine, dir, 'dense.sqlite', UNKEYED, 'plain.jsonl')).bytes)).toBe(true);
    const json = await exportTo(engine, dir, 'dense.sqlite', KEYED, 'keyed.json');
    expectSplit(json.logs, false);
    expect(json.bytes.equals((await exportTo(engine, dir, 'dense.sqlite', UNKEYED, 'plain.json')).bytes)).toBe(true);
    expect((JSON.parse(json.bytes.toString('utf8')) as unknown[]).length).toBe(ROWS);
    expectNoLeftovers(dir);
  });

  it('splits a table with sparse and negative keys, or nearly all in one range, the same way, and reads a WAL database in one range', async () => {
    const dir = tempDir();
    const engine = makeEngine();
    // Keys from -2e11 to 2e11, at least 21 apart and further and further so: ranges of equal
    // key spans hold unequal rows, and batches find their ends by probing.
    writeTable(join(dir, 'sparse.sqlite'), '7 * x * x - 200000000000 + x % 13');
    const keyed = await exportTo(engine, dir, 'sparse.sqlite', KEYED, 'keyed.csv');
    const plain = await exportTo(engine, dir, 'sparse.sqlite', UNKEYED, 'plain.csv');
    expect(keyed.result.rowCount).toBe(ROWS);
    expectSplit(keyed.logs, true);
    expect(keyed.bytes.equals(plain.bytes)).toBe(true);

    // The first range of equal key spans holds 50 rows: the preview goes on into the next.
    writeTable(join(dir, 'skewed.sqlite'), 'CASE WHEN x <= 50 THEN x ELSE 1000000000000 + x END');
    const skewed = await exportTo(engine, dir, 'skewed.sqlite', KEYED, 'skewed.csv');
    const skewedPlain = await exportTo(engine, dir, 'skewed.sqlite', UNKEYED, 'skewed-plain.csv');
    expectSplit(skewed.logs, true);
    expect(skewed.bytes.equals(skewedPlain.bytes)).toBe(true);
    expect(skewed.result.preview).toHaveLength(100);
    expect(skewed.result.preview).toEqual(skewedPlain.result.preview);

    writeTable(join(dir, 'wal.sqlite'), 'x', { wal: true });
    const wal = await exportTo(engine, dir, 'wal.sqlite', KEYED, 'wal.csv');
    expectSplit(wal.logs, false);
    expect(wal.bytes.equals((await exportTo(engine, dir, 'wal.sqlite', UNKEYED, 'wal-plain.csv')).bytes)).toBe(true);
    expectNoLeftovers(dir);
  });

  it('reads one snapshot across its key ranges while a writer commits an update of every row meanwhile', async () => {
    const dir = tempDir();
    const db = join(dir, 'busy.sqlite');
    writeTable(db, 'x');
    // The update sets every r1 to -1: a random r1 may already be -1 (about one table in seven).
    const minusOneBefore = sqlite3Csv(db, 'SELECT count(*) AS n FROM v WHERE r1 = -1')[1]![0];
    const engine = makeEngine();
    const { key, jobId } = await startTask(engine, dir, { kind: 'sql.query', db: 'busy.sqlite', sql: KEYED, output: { path: 'busy.csv' } });
    // Rows are being written: the export's read transaction is open, so the writer's commit
    // waits for its end (a range thread that started while the commit waits could not read:
    // SQLite refuses new read locks then, and its range would be exported on the task's thread,
    // in the same snapshot).
    await waitForProgress(engine, key);
    const writer = new Promise<number | null>((resolve, reject) => {
      const child = spawn('sqlite3', ['-batch', '-bail', '-cmd', '.timeout 60000', db, "UPDATE v SET t = 'changed', r1 = -1;"], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    await engine.waitForJob(jobId);
    expect(await writer).toBe(0);
    const rows = succeeded<SqlQueryResult>(engine.task(key)!).rowCount;
    expect(rows).toBe(ROWS);
    const text = readFileSync(join(dir, 'busy.csv'), 'utf8');
    // Every row as before the update: none of it, though the update was committed meanwhile.
    const lines = parseCsv(text).slice(1);
    expect(lines.length).toBe(ROWS);
    expect(lines.filter((cells) => cells[4] === 'changed').length).toBe(0);
    expect(String(lines.filter((cells) => cells[1] === '-1.0').length)).toBe(minusOneBefore);
    expect(sqlite3Csv(db, "SELECT count(*) AS n FROM v WHERE t = 'changed'")[1]).toEqual([String(ROWS)]);
    expectNoLeftovers(dir);
  });

  it('stops a split export at a cancel, removing the partial output and every range thread\'s file; the next export runs whole', async () => {
    const dir = tempDir();
    // Large enough that the export is still running when the cancel lands.
    sqlite3(
      join(dir, 'big.sqlite'),
      `CREATE TABLE v (id INTEGER PRIMARY KEY, t TEXT, r REAL);
       WITH RECURSIVE k(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM k WHERE x < 2000000)
       INSERT INTO v SELECT x, 'row ' || x || ', with a comma', x / 7.0 FROM k;`,
    );
    // A long grace period: the task must stop by itself, at its own cancel checks.
    const engine = makeEngine({ cancelGraceMs: 120_000 });
    const { key, jobId } = await startTask(engine, dir, { kind: 'sql.query', db: 'big.sqlite', sql: KEYED, output: { path: 'big.csv' } });
    await waitForProgress(engine, key);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expect(existsSync(join(dir, 'big.csv'))).toBe(false);
    expectNoLeftovers(dir);

    const again = await exportTo(engine, dir, 'big.sqlite', 'SELECT * FROM v ORDER BY id', 'again.csv');
    expect(again.result.rowCount).toBe(2_000_000);
    expectSplit(again.logs, true);
    expectNoLeftovers(dir);
  });

  it('writes every range on the task\'s thread when a range thread cannot write its file, and leaves the thing in its way alone', async () => {
    const dir = tempDir();
    writeTable(join(dir, 'dense.sqlite'), 'x');
    // A folder where the second thread's file goes: that thread fails before it claims a range.
    mkdirSync(join(dir, 'keyed.csv.partial.2'));
    const engine = makeEngine();
    const keyed = await exportTo(engine, dir, 'dense.sqlite', KEYED, 'keyed.csv');
    const plain = await exportTo(engine, dir, 'dense.sqlite', UNKEYED, 'plain.csv');
    expect(keyed.bytes.equals(plain.bytes)).toBe(true);
    expect(keyed.result.rowCount).toBe(ROWS);
    expect(keyed.result.preview).toEqual(plain.result.preview);
    if (THREADS === 2) {
      // The only range thread claimed nothing; had it failed by the end, the log says so.
      const said = keyed.logs.map((line) => SPLIT_LOG.exec(line)).find((match) => match !== null);
      expect(said?.[3]).toBe(said?.[2]);
      for (const line of keyed.logs.filter((line) => line.startsWith('key range thread'))) {
        expect(line).toMatch(/^key range thread 2 of 2 failed: EISDIR.*: the other threads read its share$/);
      }
    }
    expect(statSync(join(dir, 'keyed.csv.partial.2')).isDirectory()).toBe(true);
    rmdirSync(join(dir, 'keyed.csv.partial.2'));
    expectNoLeftovers(dir);
  });

  it('reads small key-ordered tables in batches with the same bytes: chinook, an empty table, one row, column lists', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    sqlite3(db, `CREATE TABLE empty (id INTEGER PRIMARY KEY, t TEXT); CREATE TABLE one (id INTEGER PRIMARY KEY, t TEXT); INSERT INTO one VALUES (-5, 'only');`);
    const engine = makeEngine();
    const pairs: Array<[string, string]> = [
      ['SELECT * FROM Track ORDER BY TrackId', 'SELECT * FROM Track WHERE 1 ORDER BY TrackId'],
      ['select Name, TrackId, Composer from Track order by TrackId asc;', 'SELECT Name, TrackId, Composer FROM Track WHERE 1 ORDER BY TrackId'],
      ['SELECT * FROM Invoice ORDER BY InvoiceId', 'SELECT * FROM Invoice WHERE 1 ORDER BY InvoiceId'],
      ['SELECT * FROM empty ORDER BY id', 'SELECT * FROM empty WHERE 1 ORDER BY id'],
      ['SELECT t FROM one ORDER BY rowid', 'SELECT t FROM one WHERE 1 ORDER BY rowid'],
    ];
    for (const [i, [keyed, plain]] of pairs.entries()) {
      const ours = await exportTo(engine, dir, 'chinook.sqlite', keyed, `k${i}.csv`);
      const theirs = await exportTo(engine, dir, 'chinook.sqlite', plain, `p${i}.csv`);
      expect(ours.bytes.equals(theirs.bytes), keyed).toBe(true);
      expect(ours.result.preview, keyed).toEqual(theirs.result.preview);
      // (The CLI prints no header for no rows.)
      if (ours.result.rowCount > 0) expectSameRows(parseCsv(ours.bytes.toString('utf8')), sqlite3Csv(db, keyed));
      else expect(ours.bytes.toString('utf8')).toBe('id,t\r\n');
    }
    expectNoLeftovers(dir);
  });

  it('exports statements outside the shape as before: an index order, a sort, a WITHOUT ROWID table, a descending key, parameters', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    sqlite3(db, `CREATE TABLE wr (k INTEGER PRIMARY KEY, v TEXT) WITHOUT ROWID; INSERT INTO wr VALUES (2, 'b'), (1, 'a');`);
    const engine = makeEngine();
    for (const sql of ['SELECT * FROM Track ORDER BY Name', 'SELECT * FROM wr ORDER BY k', 'SELECT * FROM Track ORDER BY TrackId DESC', 'SELECT * FROM Track ORDER BY AlbumId']) {
      const ours = await exportTo(engine, dir, 'chinook.sqlite', sql, 'out.csv');
      expectSameRows(parseCsv(ours.bytes.toString('utf8')), sqlite3Csv(db, sql));
    }
    const task = await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT * FROM Track WHERE TrackId > ? ORDER BY TrackId', params: [3000], output: { path: 'p.csv' } });
    expect(succeeded<SqlQueryResult>(task).rowCount).toBe(503);
    expect(existsSync(join(dir, 'p.csv'))).toBe(true);
  });
});
