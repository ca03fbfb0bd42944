import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CsvImportResult } from '../../workers/handlers/csv-import.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { expectTaskError, parseCsv, runTask, sqlite3, sqlite3Csv, startTask, succeeded, waitForProgress } from './kind-fixture.js';

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A CSV file with quoting, line breaks inside fields, Unicode, a BOM and CRLF line ends. */
function writeAwkwardCsv(path: string, rows: number): string[][] {
  const records: string[][] = [['id', 'name', 'score', 'zip', 'note']];
  for (let i = 1; i <= rows; i++) {
    records.push([String(i), i % 7 === 0 ? `Smith, "Jr." ${i}` : `naïve ✓ ${i}`, (i * 1.25).toFixed(2), String(i % 1000).padStart(5, '0'), i % 5 === 0 ? '' : i % 11 === 0 ? `two\nlines ${i}` : `note ${i}`]);
  }
  writeFileSync(path, `\uFEFF${records.map((record) => record.map(csvField).join(',')).join('\r\n')}\r\n`);
  return records;
}

describe('csv.import', () => {
  it('imports every row with inferred types; the sqlite3 CLI reads back the same values', async () => {
    const dir = tempDir();
    const records = writeAwkwardCsv(join(dir, 'people.csv'), 2500);
    const engine = makeEngine();
    const result = succeeded<CsvImportResult>(await runTask(engine, dir, { kind: 'csv.import', file: 'people.csv', db: 'out.sqlite', table: 'people', batchSize: 100 }));
    const db = join(dir, 'out.sqlite');
    expect(result).toMatchObject({ table: 'people', rows: 2500, created: true });
    expect(result.columns).toEqual([
      { name: 'id', type: 'INTEGER' },
      { name: 'name', type: 'TEXT' },
      { name: 'score', type: 'REAL' },
      // Leading zeros are not an integer's: the column stays text, as written.
      { name: 'zip', type: 'TEXT' },
      { name: 'note', type: 'TEXT' },
    ]);
    expect(sqlite3(db, 'SELECT count(*) FROM people').trim()).toBe('2500');
    expect(sqlite3(db, "SELECT typeof(id), typeof(score), typeof(note) FROM people WHERE id = 1").trim()).toBe('integer|real|text');
    // Empty fields are NULL.
    expect(sqlite3(db, 'SELECT count(*) FROM people WHERE note IS NULL').trim()).toBe('500');
    const back = sqlite3Csv(db, "SELECT id, name, printf('%.2f', score) AS score, zip, note FROM people ORDER BY id");
    expect(back).toEqual(records);
  });

  it('never changes a value: 64-bit integers exactly, beyond them text, a REAL only when a double holds the decimal', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big.csv'), 'id,n\n1,1000000000000000001\n2,9007199254740993\n');
    writeFileSync(
      join(dir, 'kinds.csv'),
      [
        'extremes,beyond,real,inexact,bigreal,mixed,zeros,empty',
        '9223372036854775807,9223372036854775808,2.0,9007199254740993.0,0.5,1.50,007,""',
        '-9223372036854775808,1,1.0e+18,0.1,1152921504606846977,2,1,',
        '0,2,-0.0,0.1000000000000000000001,1,1e5,2,x',
        '1,3,Inf,1.5,2,-Inf,3,""',
      ].join('\n'),
    );
    const engine = makeEngine();
    const big = succeeded<CsvImportResult>(await runTask(engine, dir, { kind: 'csv.import', file: 'big.csv', db: 'out.sqlite', table: 'big' }));
    expect(big.columns).toEqual([{ name: 'id', type: 'INTEGER' }, { name: 'n', type: 'INTEGER' }]);
    const db = join(dir, 'out.sqlite');
    expect(sqlite3(db, 'SELECT typeof(n), n FROM big ORDER BY id').trim().split('\n')).toEqual(['integer|1000000000000000001', 'integer|9007199254740993']);

    const kinds = succeeded<CsvImportResult>(await runTask(engine, dir, { kind: 'csv.import', file: 'kinds.csv', db: 'out.sqlite', table: 'kinds' }));
    expect(Object.fromEntries(kinds.columns.map((c) => [c.name, c.type]))).toEqual({
      extremes: 'INTEGER',
      beyond: 'TEXT', // 2^63 is past 64 bits
      real: 'REAL',
      inexact: 'TEXT', // a double cannot hold 9007199254740993.0 nor 0.1000000000000000000001
      bigreal: 'TEXT', // a REAL column would round 2^60 + 1
      mixed: 'REAL',
      zeros: 'TEXT',
      empty: 'TEXT',
    });
    const cells = (column: string) => sqlite3(db, `SELECT typeof(${column}) || ' ' || quote(${column}) FROM kinds ORDER BY rowid`).trim().split('\n');
    expect(cells('extremes')).toEqual(['integer 9223372036854775807', 'integer -9223372036854775808', 'integer 0', 'integer 1']);
    expect(cells('beyond')).toEqual(["text '9223372036854775808'", "text '1'", "text '2'", "text '3'"]);
    expect(cells('real')).toEqual(['real 2.0', 'real 1.0e+18', 'real 0.0', 'real Inf']);
    expect(cells('inexact')).toEqual(["text '9007199254740993.0'", "text '0.1'", "text '0.1000000000000000000001'", "text '1.5'"]);
    expect(cells('bigreal')).toEqual(["text '0.5'", "text '1152921504606846977'", "text '1'", "text '2'"]);
    expect(cells('mixed')).toEqual(['real 1.5', 'real 2.0', 'real 100000.0', 'real -Inf']);
    expect(cells('zeros')).toEqual(["text '007'", "text '1'", "text '2'", "text '3'"]);
    // A quoted empty field is an empty text; an empty field is NULL.
    expect(cells('empty')).toEqual(["text ''", 'null NULL', "text 'x'", "text ''"]);
  });

  it('refuses a value past the first 1,000 rows that the inferred type would change, naming row, column and value', async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 1200 }, (_, i) => `${i},${i === 1100 ? '007' : i},${i === 1150 ? '9007199254740993' : i / 2}`);
    writeFileSync(join(dir, 'late.csv'), `id,n,r\n${rows.join('\n')}\n`);
    writeFileSync(join(dir, 'later.csv'), `id,r\n${rows.map((row) => row.split(',').filter((_, i) => i !== 1).join(',')).join('\n')}\n`);
    writeFileSync(join(dir, 'words.csv'), `id,n\n${rows.map((row, i) => (i === 1100 ? `${i},seven` : row.split(',').slice(0, 2).join(','))).join('\n')}\n`);
    const engine = makeEngine();
    expectTaskError(
      await runTask(engine, dir, { kind: 'csv.import', file: 'late.csv', db: 'out.sqlite', table: 'late' }),
      'TYPE_MISMATCH',
      /late\.csv: row 1101, column "n": "007" would not stay as written in a column inferred INTEGER from the first 1000 rows; declare its type \(columns: \{"n": TEXT\}\)$/,
    );
    expectTaskError(await runTask(engine, dir, { kind: 'csv.import', file: 'later.csv', db: 'out.sqlite', table: 'later' }), 'TYPE_MISMATCH', /row 1151, column "r": "9007199254740993" would not stay as written in a column inferred REAL/);
    expect(sqlite3(join(dir, 'out.sqlite'), "SELECT count(*) FROM sqlite_master WHERE name IN ('late', 'later')").trim()).toBe('0');
    // Text that is no number stays text in a numeric column, as before; declared TEXT keeps '007'.
    succeeded(await runTask(engine, dir, { kind: 'csv.import', file: 'words.csv', db: 'out.sqlite', table: 'words' }));
    expect(sqlite3(join(dir, 'out.sqlite'), "SELECT typeof(n), n FROM words WHERE id = 1100").trim()).toBe('text|seven');
    succeeded(await runTask(engine, dir, { kind: 'csv.import', file: 'late.csv', db: 'out.sqlite', table: 'late', columns: { n: 'TEXT', r: 'TEXT' } }));
    expect(sqlite3(join(dir, 'out.sqlite'), "SELECT n, r FROM late WHERE id IN (1100, 1150) ORDER BY id").trim()).toBe('007|550\n1150|9007199254740993');
  });

  it('keeps declared column types (leading zeros stay in TEXT) and appends, replaces or refuses an existing table', async () => {
    const dir = tempDir();
    writeAwkwardCsv(join(dir, 'people.csv'), 30);
    const engine = makeEngine();
    const db = join(dir, 'out.sqlite');
    const base = { kind: 'csv.import', file: 'people.csv', db: 'out.sqlite', table: 'people', columns: { zip: 'TEXT' } };
    succeeded(await runTask(engine, dir, base));
    expect(sqlite3(db, 'SELECT zip FROM people WHERE id = 7').trim()).toBe('00007');
    const appended = succeeded<CsvImportResult>(await runTask(engine, dir, base));
    expect(appended.created).toBe(false);
    expect(sqlite3(db, 'SELECT count(*) FROM people').trim()).toBe('60');
    succeeded(await runTask(engine, dir, { ...base, ifExists: 'replace' }));
    expect(sqlite3(db, 'SELECT count(*) FROM people').trim()).toBe('30');
    expectTaskError(await runTask(engine, dir, { ...base, ifExists: 'fail' }), 'TABLE_EXISTS', /table "people" already exists/);
    writeFileSync(join(dir, 'other.csv'), 'id,extra\n1,2\n');
    expectTaskError(await runTask(engine, dir, { ...base, file: 'other.csv', columns: {} }), 'COLUMN_MISMATCH', /table "people" has no column "extra" \(its columns: id, name, score, zip, note\)/);
    expect(sqlite3(db, 'SELECT count(*) FROM people').trim()).toBe('30');
    expectTaskError(await runTask(engine, dir, { ...base, columns: { zipcode: 'TEXT' } }), 'UNKNOWN_COLUMN', /columns\.zipcode: the header of .*people\.csv has no column "zipcode"/);
  });

  it('reports an empty, blank, ragged or badly quoted CSV and a bad header, and creates nothing', async () => {
    const dir = tempDir();
    const files: Record<string, string> = {
      'empty.csv': '',
      'blank.csv': '\n\n\r\n',
      'ragged.csv': 'id,name,score\n1,Ada,90\n2,Alan,85\n3,Grace\n4,Linus,70\n',
      'quotes.csv': 'id,name\n1,"unterminated\n2,x\n',
      'duplicate.csv': 'id,Name,name\n1,a,b\n',
      'unnamed.csv': 'id,,score\n1,a,2\n',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const engine = makeEngine();
    const load = (file: string) => runTask(engine, dir, { kind: 'csv.import', file, db: 'out.sqlite', table: 't' });
    expectTaskError(await load('empty.csv'), 'EMPTY_CSV', /empty\.csv is empty; expected a header row/);
    expectTaskError(await load('blank.csv'), 'EMPTY_CSV', /blank\.csv has no header row/);
    expectTaskError(await load('ragged.csv'), 'RAGGED_CSV', /ragged\.csv: line 4 has 2 fields; the header has 3$/);
    expectTaskError(await load('quotes.csv'), 'BAD_CSV', /quotes\.csv: .*quote/i);
    expectTaskError(await load('duplicate.csv'), 'BAD_HEADER', /names "name" twice \(columns 2 and 3\)/);
    expectTaskError(await load('unnamed.csv'), 'BAD_HEADER', /column 2 of the header row has no name/);
    // Nothing of the failed imports was committed.
    expect(sqlite3(join(dir, 'out.sqlite'), '.tables').trim()).toBe('');
  });

  it('reports a missing file, a folder, and a target that is no database', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'ok.csv'), 'a\n1\n');
    writeFileSync(join(dir, 'notes.txt'), 'plain text, certainly not a SQLite database file. '.repeat(20));
    const engine = makeEngine();
    const load = (file: string, db = 'out.sqlite') => runTask(engine, dir, { kind: 'csv.import', file, db, table: 't' });
    expectTaskError(await load('missing.csv'), 'ENOENT', /missing\.csv: no such file or directory/);
    expectTaskError(await load('folder'), 'EISDIR', /folder is a directory; expected a file/);
    expectTaskError(await load('ok.csv', 'notes.txt'), 'NOT_A_DATABASE', /notes\.txt is not a SQLite database/);
    expectTaskError(await load('ok.csv', 'folder'), 'EISDIR', /expected a SQLite database file/);
  });

  it('rolls back on cancel: a table it was appending to keeps its rows', async () => {
    const dir = tempDir();
    const db = join(dir, 'out.sqlite');
    sqlite3(db, 'CREATE TABLE big (id INTEGER, text TEXT); INSERT INTO big VALUES (1, \'kept\'), (2, \'kept\')');
    let text = 'id,text\n';
    for (let i = 0; i < 400_000; i++) text += `${i},row number ${i} with some words in it\n`;
    writeFileSync(join(dir, 'big.csv'), text);
    const engine = makeEngine({ cancelGraceMs: 120_000 });
    const { key, jobId } = await startTask(engine, dir, { kind: 'csv.import', file: 'big.csv', db: 'out.sqlite', table: 'big', batchSize: 500 });
    await waitForProgress(engine, key);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expect(sqlite3(db, 'SELECT count(*) FROM big').trim()).toBe('2');
    expect(sqlite3(db, 'PRAGMA integrity_check').trim()).toBe('ok');
    // The same import, left alone, brings every row in.
    const result = succeeded<CsvImportResult>(await runTask(engine, dir, { kind: 'csv.import', file: 'big.csv', db: 'out.sqlite', table: 'big' }));
    expect(result.rows).toBe(400_000);
    expect(sqlite3(db, 'SELECT count(*) FROM big').trim()).toBe('400002');
    expect(parseCsv(sqlite3(db, '.mode csv', 'SELECT * FROM big WHERE id = 399999'))).toEqual([['399999', 'row number 399999 with some words in it']]);
  });
});
