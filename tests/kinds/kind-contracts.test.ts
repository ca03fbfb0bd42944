import { describe, expect, it } from 'vitest';
import { jobFileJsonSchema, validateJobSpec } from '../../contract/job-spec.js';
import { isGlobPattern } from '../../contract/kinds/path-list.js';
import { jobSpecFromText } from '../../electron/engine/job-file.js';
import { ThreadlineError } from '../../electron/engine/errors.js';

function issues(task: Record<string, unknown>) {
  const result = validateJobSpec({ name: 'x', tasks: [{ id: 't', ...task }] });
  return result.ok ? [] : result.issues;
}

describe('task kind fields in job files', () => {
  it('resolves paths against the job file folder; globs keep working under a folder with glob characters', () => {
    const yaml = `
name: paths
tasks:
  - {id: q, kind: sql.query, db: data/x.sqlite, sql: SELECT 1, output: {path: out/x.csv}}
  - {id: e, kind: sql.exec, db: /abs/x.sqlite, sql: SELECT 1}
  - {id: i, kind: csv.import, file: ../in.csv, db: x.sqlite, table: t}
  - {id: h, kind: file.hash, paths: ["logs/*.log", "notes.txt", "/abs/*.bin"], manifest: SUMS}
  - {id: c, kind: file.compress, paths: [a.txt], outDir: packed}
  - {id: d, kind: file.decompress, paths: ["*.gz"]}
  - {id: g, kind: file.grep, paths: ["**/*.md"], pattern: TODO}
  - {id: s, kind: file.stats, paths: [a.txt]}
  - {id: m, kind: script, module: scripts/job.mjs, args: {path: not/resolved.txt}}
  - {id: f, kind: http.fetch, url: "https://example.com/", output: page.html}
`;
    const spec = jobSpecFromText(yaml, 'paths.yaml', '/jobs/(2024) [q1]');
    const input = (id: string) => spec.tasks.find((task) => task.id === id)!.input;
    expect(input('q')).toMatchObject({ db: '/jobs/(2024) [q1]/data/x.sqlite', output: { path: '/jobs/(2024) [q1]/out/x.csv' } });
    expect(input('e')).toMatchObject({ db: '/abs/x.sqlite', readonly: false, create: false });
    expect(input('i')).toMatchObject({ file: '/jobs/in.csv', db: '/jobs/(2024) [q1]/x.sqlite', batchSize: 5000, delimiter: ',', ifExists: 'append' });
    expect(input('h')).toMatchObject({
      paths: ['/jobs/\\(2024\\) \\[q1\\]/logs/*.log', '/jobs/(2024) [q1]/notes.txt', '/abs/*.bin'],
      algorithm: 'sha256',
      manifest: '/jobs/(2024) [q1]/SUMS',
    });
    expect(input('c')).toMatchObject({ paths: ['/jobs/(2024) [q1]/a.txt'], outDir: '/jobs/(2024) [q1]/packed', format: 'gzip', overwrite: false });
    expect(input('g')).toMatchObject({ flags: '', maxMatches: 1000 });
    expect(input('m')).toEqual({ module: '/jobs/(2024) [q1]/scripts/job.mjs', export: 'default', args: { path: 'not/resolved.txt' } });
    expect(input('f')).toMatchObject({ method: 'GET', output: '/jobs/(2024) [q1]/page.html' });
  });

  it('tells glob patterns from plain paths', () => {
    for (const glob of ['*.txt', 'a/**/b', 'file?.log', '[ab].csv', '{a,b}.csv', '@(x|y).md', '!(x).md']) expect(isGlobPattern(glob), glob).toBe(true);
    for (const plain of ['a.txt', 'dir/file name.csv', '(2024)/notes.txt', 'x!.txt', 'a+b.txt']) expect(isGlobPattern(plain), plain).toBe(false);
  });

  it('names the field and what was expected when a kind field is wrong', () => {
    expect(issues({ kind: 'file.hash', paths: [] })).toEqual([{ path: 'tasks[0].paths', message: expect.stringContaining('expected at least one path or glob pattern') }]);
    expect(issues({ kind: 'file.hash', paths: ['a'], algorithm: 'crc32' })).toEqual([{ path: 'tasks[0].algorithm', message: expect.stringMatching(/sha256.*sha1.*sha512.*md5/) }]);
    expect(issues({ kind: 'sql.query', db: 'x', sql: 'SELECT 1', output: { pth: 'x.csv' } })).toEqual([
      { path: 'tasks[0].output.path', message: 'missing; expected string' },
      { path: 'tasks[0].output', message: 'unknown field "pth"' },
    ]);
    expect(issues({ kind: 'sql.query', db: 'x', sql: '   ' })).toEqual([{ path: 'tasks[0].sql', message: 'expected SQL text' }]);
    expect(issues({ kind: 'sql.query', db: 'x', sql: 'SELECT 1', output: { path: 'x', format: 'xml' } })).toEqual([
      { path: 'tasks[0].output.format', message: expect.stringMatching(/csv.*jsonl.*json/) },
    ]);
    expect(issues({ kind: 'csv.import', file: 'a.csv', db: 'x', table: 't', columns: { a: 'VARCHAR' } })).toEqual([
      { path: 'tasks[0].columns.a', message: expect.stringMatching(/INTEGER.*REAL.*TEXT.*BLOB.*NUMERIC/) },
    ]);
    expect(issues({ kind: 'csv.import', file: 'a.csv', db: 'x', table: 't', delimiter: '::' })).toEqual([{ path: 'tasks[0].delimiter', message: 'expected one character' }]);
    expect(issues({ kind: 'file.compress', paths: ['a'], level: 12 })).toEqual([{ path: 'tasks[0].level', message: expect.stringContaining('11') }]);
    expect(issues({ kind: 'script' })).toEqual([{ path: 'tasks[0].module', message: 'missing; expected string' }]);
    expect(issues({ kind: 'http.fetch', url: 'https://example.com', method: 'FETCH' })).toEqual([{ path: 'tasks[0].method', message: expect.stringContaining('GET') }]);
  });

  it('reports a bad field of a job file in one line naming the file', () => {
    expect(() => jobSpecFromText('{"name":"x","tasks":[{"id":"a","kind":"file.grep","paths":["*"],"pattern":"(("}]}', 'bad.json', '/')).toThrow(ThreadlineError);
    expect(() => jobSpecFromText('{"name":"x","tasks":[{"id":"a","kind":"file.grep","paths":["*"],"pattern":"(("}]}', 'bad.json', '/')).toThrow(
      'bad.json: tasks[0].pattern: not a valid regular expression',
    );
  });

  it('lists every kind in the job file JSON Schema', () => {
    const schema = JSON.stringify(jobFileJsonSchema());
    for (const kind of ['sql.query', 'sql.exec', 'csv.import', 'file.hash', 'file.compress', 'file.decompress', 'file.grep', 'file.stats', 'script', 'http.fetch']) {
      expect(schema).toContain(`"const":"${kind}"`);
    }
  });
});
