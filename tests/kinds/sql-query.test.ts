import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SqlQueryResult } from '../../workers/handlers/sql-query.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import {
  copyChinook,
  expectSameRows,
  expectTaskError,
  parseCsv,
  runTask,
  sha256,
  sqlite3,
  sqlite3Csv,
  startTask,
  succeeded,
  waitForProgress,
} from './kind-fixture.js';

const CHINOOK_QUERIES = [
  'SELECT * FROM Track',
  'SELECT * FROM Invoice ORDER BY Total DESC, InvoiceId',
  'SELECT * FROM Customer',
  // Repeated column names, text with quotes and commas, NULLs.
  'SELECT t.Name, a.Title, t.AlbumId, a.AlbumId, t.Composer FROM Track t JOIN Album a USING (AlbumId) ORDER BY t.TrackId',
  // (No avg() or sum() of reals: SQLite versions differ in how they round those.)
  'SELECT GenreId, count(*) AS tracks, min(UnitPrice) AS price, sum(Milliseconds) / 1000.0 AS seconds FROM Track GROUP BY GenreId',
];

/** A table of awkward values: 64-bit integers, reals, text that needs quoting, blobs, NULLs. */
function writeAwkwardDatabase(dir: string): string {
  const db = join(dir, 'awkward.sqlite');
  sqlite3(
    db,
    `CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n);
     INSERT INTO v (i, r, t, b, n) VALUES
       (9223372036854775807, 0.1, 'plain', x'00ff10', NULL),
       (-9223372036854775808, 1e300, 'comma, inside', x'', 1),
       (9007199254740993, 0.30000000000000004, 'quote "inside"', NULL, 'x'),
       (42, -2.5e-10, 'line
break', x'deadbeef', 2.5),
       (NULL, NULL, 'ünïcödé ✓', NULL, NULL),
       (0, 3.0, '', x'41', '');`,
  );
  return db;
}

describe('sql.query', () => {
  it('exports CSV that holds the same rows as the sqlite3 CLI, for several queries', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const engine = makeEngine();
    for (const [i, sql] of CHINOOK_QUERIES.entries()) {
      const result = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql, output: { path: `q${i}.csv` } }));
      const ours = parseCsv(readFileSync(join(dir, `q${i}.csv`), 'utf8'));
      const cli = sqlite3Csv(db, sql);
      expect(ours[0]).toEqual(cli[0]);
      expectSameRows(ours, cli);
      expect(result.rowCount).toBe(cli.length - 1);
      expect(result.columns).toEqual(cli[0]);
      expect(result.output).toEqual({ path: join(dir, `q${i}.csv`), format: 'csv', bytes: readFileSync(join(dir, `q${i}.csv`)).length });
    }
  });

  it('writes 64-bit integers exactly, reals as numbers, blobs as hex and NULL as an empty field', async () => {
    const dir = tempDir();
    const db = writeAwkwardDatabase(dir);
    const engine = makeEngine();
    const result = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'awkward.sqlite', sql: 'SELECT * FROM v', output: { path: 'v.csv' } }));
    const ours = parseCsv(readFileSync(join(dir, 'v.csv'), 'utf8'));
    // The CLI prints blobs as raw bytes; SQLite's hex() is the same bytes as the hex Threadline writes.
    expectSameRows(ours, sqlite3Csv(db, 'SELECT id, i, r, t, hex(b) AS b, n FROM v'));
    expect(ours.map((row) => row[1])).toEqual(['i', '9223372036854775807', '-9223372036854775808', '9007199254740993', '42', '', '0']);
    expect(readFileSync(join(dir, 'v.csv'), 'utf8').split('\r\n')[0]).toBe('id,i,r,t,b,n');
    expect(result.preview[0]).toEqual([1, '9223372036854775807', 0.1, 'plain', '00FF10', null]);
    expect(result.preview[3]).toEqual([4, 42, -2.5e-10, 'line\nbreak', 'DEADBEEF', 2.5]);
  });

  it('exports JSON Lines and JSON with exact integers and suffixed repeated names', async () => {
    const dir = tempDir();
    writeAwkwardDatabase(dir);
    const db = copyChinook(dir);
    const engine = makeEngine();
    const sql = 'SELECT i, r, t, b, n FROM v ORDER BY id';
    succeeded(await runTask(engine, dir, { kind: 'sql.query', db: 'awkward.sqlite', sql, output: { path: 'v.jsonl' } }));
    const lines = readFileSync(join(dir, 'v.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe('{"i":9223372036854775807,"r":0.1,"t":"plain","b":"00FF10","n":null}');
    expect(lines[3]).toBe('{"i":42,"r":-2.5e-10,"t":"line\\nbreak","b":"DEADBEEF","n":2.5}');
    expect(JSON.parse(lines[4]!)).toEqual({ i: null, r: null, t: 'ünïcödé ✓', b: null, n: null });

    const join2 = 'SELECT t.TrackId, a.AlbumId, t.AlbumId, t.Name FROM Track t JOIN Album a USING (AlbumId) ORDER BY t.TrackId';
    const json = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: join2, output: { path: 'tracks.json' } }));
    const parsed = JSON.parse(readFileSync(join(dir, 'tracks.json'), 'utf8')) as Array<Record<string, unknown>>;
    const cli = JSON.parse(sqlite3(db, '.mode json', join2)) as Array<Record<string, unknown>>;
    expect(json.output?.format).toBe('json');
    expect(parsed).toHaveLength(cli.length);
    expect(Object.keys(parsed[0]!)).toEqual(['TrackId', 'AlbumId', 'AlbumId_2', 'Name']);
    expect(parsed.map((row) => [row.TrackId, row.AlbumId, row.AlbumId_2, row.Name])).toEqual(cli.map((row) => [row.TrackId, row.AlbumId, row.AlbumId, row.Name]));

    const empty = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT * FROM Track WHERE 0', output: { path: 'none.json' } }));
    expect(empty.rowCount).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'none.json'), 'utf8'))).toEqual([]);
  });

  it('binds positional, named and boolean parameters, and previews without an output file', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const engine = makeEngine();
    const positional = succeeded<SqlQueryResult>(
      await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT TrackId, Name FROM Track WHERE GenreId = ? AND Milliseconds > ?', params: [1, 300000] }),
    );
    const expected = Number(sqlite3(db, 'SELECT count(*) FROM Track WHERE GenreId = 1 AND Milliseconds > 300000').trim());
    expect(positional.rowCount).toBe(expected);
    expect(positional.output).toBeNull();
    expect(positional.preview).toHaveLength(Math.min(100, expected));
    const named = succeeded<SqlQueryResult>(
      await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT :flag AS flag, @name AS name, $n + 1 AS next', params: { flag: true, name: 'x', n: 41 } }),
    );
    expect(named.preview).toEqual([[1, 'x', 42]]);
    const all = succeeded<SqlQueryResult>(await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT TrackId FROM Track ORDER BY TrackId' }));
    expect(all.rowCount).toBe(3503);
    expect(all.preview).toEqual(Array.from({ length: 100 }, (_, i) => [i + 1]));
  });

  it('refuses to write, whether by INSERT, PRAGMA, ATTACH, VACUUM INTO or RETURNING, and leaves the file untouched', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const before = sha256(db);
    const engine = makeEngine();
    const attempts: Array<[string, string]> = [
      ["INSERT INTO Genre (Name) VALUES ('x')", 'READONLY'],
      ['PRAGMA user_version = 7', 'READONLY'],
      ["VACUUM INTO 'copy.sqlite'", 'READONLY'],
      ["INSERT INTO Genre (Name) VALUES ('x') RETURNING GenreId", 'READONLY'],
      ["ATTACH 'other.sqlite' AS other", 'NOT_A_QUERY'],
      ['PRAGMA query_only = 0', 'READONLY'],
      ['DELETE FROM Track', 'READONLY'],
    ];
    for (const [sql, code] of attempts) {
      expectTaskError(await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql }), code, code === 'READONLY' ? /read-only/ : /return/);
    }
    // The connection stays read-only for the next task on the same thread.
    succeeded(await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT 1' }));
    expect(sha256(db)).toBe(before);
    expect(existsSync(join(dir, 'copy.sqlite'))).toBe(false);
    expect(existsSync(join(dir, 'other.sqlite'))).toBe(false);
  });

  it('reports bad input as a task error with a code: missing file, folder, not a database, bad SQL, bad parameters, bad output', async () => {
    const dir = tempDir();
    copyChinook(dir);
    writeFileSync(join(dir, 'notes.txt'), 'these are notes, not a database; '.repeat(50));
    mkdirSync(join(dir, 'folder'));
    const engine = makeEngine();
    const query = (fields: Record<string, unknown>) => runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT 1', ...fields });
    expectTaskError(await query({ db: 'missing.sqlite' }), 'ENOENT', /no such database file: .*missing\.sqlite/);
    expectTaskError(await query({ db: 'folder' }), 'EISDIR', /folder is a directory/);
    expectTaskError(await query({ db: 'notes.txt' }), 'NOT_A_DATABASE', /notes\.txt is not a SQLite database/);
    expectTaskError(await query({ sql: 'SELEC * FROM Track' }), 'SQL_ERROR', /near "SELEC": syntax error/);
    expectTaskError(await query({ sql: 'SELECT * FROM Nope' }), 'SQL_ERROR', /no such table: Nope/);
    expectTaskError(await query({ sql: 'SELECT 1; SELECT 2' }), 'SQL_ERROR', /one statement/);
    expectTaskError(await query({ sql: 'SELECT ? + ?', params: [1] }), 'SQL_PARAMS', /parameter/i);
    expectTaskError(await query({ sql: 'SELECT :a', params: { b: 1 } }), 'SQL_PARAMS', /named parameter/i);
    expectTaskError(await query({ output: { path: 'notes.txt/out.csv' } }), 'ENOTDIR', /folder of .*notes\.txt\/out\.csv cannot be created: a part of its path is a file/);
    expectTaskError(await query({ output: { path: 'folder' } }), 'EISDIR', /is a directory/);
  });

  it('removes partial output when the query fails mid-way, and keeps the previous file', async () => {
    const dir = tempDir();
    copyChinook(dir);
    writeFileSync(join(dir, 'tracks.csv'), 'previous export\n');
    const engine = makeEngine();
    // abs() of the smallest integer overflows: an error after 3000 rows were written.
    const sql = 'SELECT TrackId, CASE WHEN TrackId > 3000 THEN abs(-9223372036854775807 - 1) ELSE Name END FROM Track ORDER BY TrackId';
    expectTaskError(await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql, output: { path: 'tracks.csv' } }), 'SQL_ERROR', /integer overflow/);
    expect(readFileSync(join(dir, 'tracks.csv'), 'utf8')).toBe('previous export\n');
    expect(existsSync(join(dir, 'tracks.csv.partial'))).toBe(false);
  });

  it('stops at a cancel between rows and removes the partial output; a timeout does the same', async () => {
    const dir = tempDir();
    copyChinook(dir);
    // A long grace period: the task must stop by itself, at its own cancel check.
    const engine = makeEngine({ cancelGraceMs: 120_000 });
    const endless = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, i * 2 FROM n';
    const { key, jobId } = await startTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: endless, output: { path: 'endless.csv' } });
    await waitForProgress(engine, key);
    expect(existsSync(join(dir, 'endless.csv.partial'))).toBe(true);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expect(existsSync(join(dir, 'endless.csv'))).toBe(false);
    expect(existsSync(join(dir, 'endless.csv.partial'))).toBe(false);

    const timedOut = await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: endless, output: { path: 'endless.jsonl' }, timeoutMs: 300 });
    expect(timedOut.state).toBe('timed_out');
    expect(existsSync(join(dir, 'endless.jsonl'))).toBe(false);
    expect(existsSync(join(dir, 'endless.jsonl.partial'))).toBe(false);
  });
});
