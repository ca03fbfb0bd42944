/**
 * A SIGKILL of `threadline run` while a task writes into the user's own database: the
 * database must be exactly as it was (SQLite's journal undoes the open transaction), checked
 * with the sqlite3 shell, and a resumed job writes its rows once.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, finished, jobFile, runBin, spawnBin } from '../cli/bin.js';
import { copyChinook } from '../kinds/kind-fixture.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { dumpChecksum, integrityCheck, sqlite3, sqlite3Json } from './sqlite-cli.js';

beforeAll(assertBuilt);

/** Every table's row count, read by the shell. */
function rowCounts(db: string): Record<string, number> {
  const tables = sqlite3Json<{ name: string }>(db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  const union = tables.map(({ name }) => `SELECT '${name}' AS name, count(*) AS n FROM "${name}"`).join(' UNION ALL ');
  return Object.fromEntries(sqlite3Json<{ name: string; n: number }>(db, union).map((row) => [row.name, row.n]));
}

interface Fingerprint {
  checksum: string;
  counts: Record<string, number>;
  size: number;
}

function fingerprint(db: string): Fingerprint {
  expect(integrityCheck(db)).toBe('ok');
  return { checksum: dumpChecksum(db), counts: rowCounts(db), size: statSync(db).size };
}

/** Waits until the task's transaction is writing: its journal is there and the file has grown. */
async function midTransaction(db: string, journal: string, before: Fingerprint): Promise<void> {
  await waitFor(
    () => statSync(journal, { throwIfNoEntry: false }) && statSync(db).size + (statSync(journal, { throwIfNoEntry: false })?.size ?? 0) > before.size + 2_000_000,
    60_000,
    'the task to be writing into the database',
  );
}

async function killMidWrite(job: string, db: string, journal: string, before: Fingerprint): Promise<string> {
  const dataDir = join(tempDir(), 'data');
  const child = spawnBin(['run', job, '--data-dir', dataDir, '--workers', '1']);
  const exit = finished(child);
  await midTransaction(db, journal, before);
  child.kill('SIGKILL');
  const ended = await exit;
  expect(ended.signal, ended.stderr).toBe('SIGKILL');
  return dataDir;
}

describe('a SIGKILL while a task writes into the user\'s database', () => {
  it('during sql.exec (rollback journal): the database is exactly as before', async () => {
    const dir = tempDir();
    const db = copyChinook(dir, 'music.sqlite');
    const before = fingerprint(db);
    const job = jobFile({
      name: 'rewrite the shop',
      tasks: [
        {
          id: 'rewrite',
          kind: 'sql.exec',
          db,
          sql: [
            "UPDATE Track SET Name = Name || ' (remastered)';",
            'DELETE FROM InvoiceLine;',
            'CREATE TABLE Plays (track INTEGER, at INTEGER);',
            'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 3000000) INSERT INTO Plays SELECT i % 3503, i FROM n;',
          ].join('\n'),
        },
      ],
    });
    const dataDir = await killMidWrite(job, db, `${db}-journal`, before);
    expect(fingerprint(db)).toEqual({ ...before, size: expect.any(Number) });
    expect(sqlite3(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'Plays'")).toBe('0');

    // The job resumes and the script runs whole, once.
    const resumed = await runBin(['resume', '--data-dir', dataDir, '--workers', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(integrityCheck(db)).toBe('ok');
    expect(sqlite3(db, 'SELECT count(*) FROM Plays')).toBe('3000000');
    expect(sqlite3(db, 'SELECT count(*) FROM InvoiceLine')).toBe('0');
    expect(sqlite3(db, "SELECT count(*) FROM Track WHERE Name LIKE '% (remastered)'")).toBe(String(before.counts.Track));
    expect(sqlite3(db, "SELECT count(*) FROM Track WHERE Name LIKE '% (remastered) (remastered)'")).toBe('0');
  });

  it('during csv.import into an existing table of a WAL database: the database is exactly as before', async () => {
    const dir = tempDir();
    const db = copyChinook(dir, 'ledger.sqlite');
    sqlite3(db, 'PRAGMA journal_mode = WAL; CREATE TABLE Payments (id INTEGER, payer TEXT, amount REAL); INSERT INTO Payments VALUES (1, \'first\', 1.5), (2, \'second\', 2.5);');
    const before = fingerprint(db);
    const rows = 400_000;
    const csv = join(dir, 'payments.csv');
    const lines = Array.from({ length: rows }, (_, i) => `${i + 3},"payer ${i}, ünïcode ✓",${(i * 0.25).toFixed(2)}`);
    writeFileSync(csv, `id,payer,amount\n${lines.join('\n')}\n`);
    const job = jobFile({ name: 'import payments', tasks: [{ id: 'import', kind: 'csv.import', file: csv, db, table: 'Payments', ifExists: 'append', batchSize: 1000 }] });

    const dataDir = await killMidWrite(job, db, `${db}-wal`, before);
    expect(fingerprint(db)).toEqual({ ...before, size: expect.any(Number) });

    const resumed = await runBin(['resume', '--data-dir', dataDir, '--workers', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(integrityCheck(db)).toBe('ok');
    // Imported once: the two rows that were there plus every row of the file, no more.
    expect(sqlite3(db, 'SELECT count(*), count(DISTINCT id), min(id), max(id) FROM Payments')).toBe(`${rows + 2}|${rows + 2}|1|${rows + 2}`);
    expect(sqlite3(db, 'SELECT payer FROM Payments WHERE id = 3')).toBe('payer 0, ünïcode ✓');
  });
});
