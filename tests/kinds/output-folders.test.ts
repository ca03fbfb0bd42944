/**
 * Every kind that writes a file creates the missing folders on its way, and still refuses to
 * replace a file where the kind says so. file.compress keeps the inputs' tree under outDir.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { FileCompressResult } from '../../workers/handlers/file-compress.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { copyChinook, expectTaskError, parseCsv, runTask, sqlite3Csv, succeeded } from './kind-fixture.js';

describe('output folders', () => {
  it('sql.query writes its export into folders it creates', async () => {
    const dir = tempDir();
    copyChinook(dir);
    const engine = makeEngine();
    const result = succeeded<{ rowCount: number; output: { path: string } }>(
      await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT ArtistId, Name FROM Artist ORDER BY ArtistId', output: { path: 'reports/2024/q1/artists.csv' } }),
    );
    expect(result.output.path).toBe(join(dir, 'reports/2024/q1/artists.csv'));
    // The same rows the sqlite3 CLI reads.
    const exported = parseCsv(readFileSync(join(dir, 'reports/2024/q1/artists.csv'), 'utf8'));
    const expected = sqlite3Csv(join(dir, 'chinook.sqlite'), 'SELECT ArtistId, Name FROM Artist ORDER BY ArtistId');
    expect(exported).toEqual(expected);
    expect(result.rowCount).toBe(expected.length - 1);
    writeFileSync(join(dir, 'in-the-way'), '');
    expectTaskError(
      await runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT 1', output: { path: 'in-the-way/out.csv' } }),
      'ENOTDIR',
      /the folder of .*in-the-way\/out\.csv cannot be created: a part of its path is a file/,
    );
  });

  it('file.compress keeps the tree under the inputs\' common folder, or flattens it when asked, and never overwrites unasked', async () => {
    const dir = tempDir();
    for (const folder of ['logs/web', 'logs/api', 'logs/api/old']) mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(join(dir, 'logs/web/app-1.log'), 'web one\n');
    writeFileSync(join(dir, 'logs/api/app-1.log'), 'api one\n');
    writeFileSync(join(dir, 'logs/api/old/app-0.log'), 'api zero\n');
    const engine = makeEngine();

    const tree = succeeded<FileCompressResult>(await runTask(engine, dir, { kind: 'file.compress', paths: ['logs/**/*.log'], outDir: 'archive/today' }));
    expect(tree.files.map((f) => f.output.slice(dir.length + 1)).sort()).toEqual(['archive/today/api/app-1.log.gz', 'archive/today/api/old/app-0.log.gz', 'archive/today/web/app-1.log.gz']);
    // Checked with the system gzip, not with the code that wrote them.
    expect(execFileSync('gzip', ['-dc', join(dir, 'archive/today/web/app-1.log.gz')], { encoding: 'utf8' })).toBe('web one\n');
    expect(execFileSync('gzip', ['-dc', join(dir, 'archive/today/api/app-1.log.gz')], { encoding: 'utf8' })).toBe('api one\n');

    // Again: every output exists, and overwrite is not set: refused, nothing written.
    const before = readFileSync(join(dir, 'archive/today/web/app-1.log.gz'));
    writeFileSync(join(dir, 'logs/web/app-1.log'), 'changed\n');
    expectTaskError(await runTask(engine, dir, { kind: 'file.compress', paths: ['logs/**/*.log'], outDir: 'archive/today' }), 'EEXIST', /already exists; set overwrite: true to replace it/);
    expect(readFileSync(join(dir, 'archive/today/web/app-1.log.gz')).equals(before)).toBe(true);
    succeeded(await runTask(engine, dir, { kind: 'file.compress', paths: ['logs/**/*.log'], outDir: 'archive/today', overwrite: true }));
    expect(gunzipSync(readFileSync(join(dir, 'archive/today/web/app-1.log.gz'))).toString()).toBe('changed\n');

    // Flat: one folder; names that would collide are refused before anything is written.
    const flat = succeeded<FileCompressResult>(await runTask(engine, dir, { kind: 'file.compress', paths: ['logs/web/*.log', 'logs/api/old/*.log'], outDir: 'flat', layout: 'flat' }));
    expect(flat.files.map((f) => f.output.slice(dir.length + 1)).sort()).toEqual(['flat/app-0.log.gz', 'flat/app-1.log.gz']);
    expectTaskError(
      await runTask(engine, dir, { kind: 'file.compress', paths: ['logs/**/app-1.log'], outDir: 'flat2', layout: 'flat' }),
      'DUPLICATE_OUTPUT',
      /app-1\.log and .*app-1\.log would both be written to .*flat2\/app-1\.log\.gz/,
    );
  });
});

describe('SQL parameters', () => {
  it('SQL_PARAMS names the parameter that has no value', async () => {
    const dir = tempDir();
    copyChinook(dir);
    const engine = makeEngine();
    const query = (sql: string, params: unknown) => runTask(engine, dir, { kind: 'sql.query', db: 'chinook.sqlite', sql, params });
    expectTaskError(await query('SELECT * FROM Track WHERE AlbumId = ? AND MediaTypeId = ?', [1]), 'SQL_PARAMS', /params: the statement takes 2 positional values \("\?"\), params gives 1: no value for parameter 2$/);
    expectTaskError(await query('SELECT ?, ?, ?', []), 'SQL_PARAMS', /params gives 0: no value for parameters 1 to 3$/);
    expectTaskError(await query('SELECT * FROM Track WHERE AlbumId = :album AND GenreId = :genre', { album: 1 }), 'SQL_PARAMS', /Missing named parameter "genre"/);
    expectTaskError(await query('SELECT ?', [1, 2]), 'SQL_PARAMS', /Too many parameter values/);
    expect(succeeded<{ rowCount: number }>(await query('SELECT * FROM Track WHERE AlbumId = ? AND MediaTypeId = ?', [1, 1])).rowCount).toBeGreaterThan(0);
  });
});
