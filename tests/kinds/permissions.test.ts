import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { CHINOOK, runCliAsync, toolRun } from './kind-fixture.js';

/** Root reads any file whatever its mode: the CLI then runs as "nobody", for whom modes count. */
const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

interface JobOutput {
  tasks: Array<{ id: string; state: string; error: { code: string; message: string } | null; result: Record<string, unknown> | null }>;
}

describe('permission denied', () => {
  it('is a task error naming the file (per file in a hash, stats or grep batch), through threadline run', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    onCleanup(() => chmodSync(join(dir, 'locked'), 0o755));
    const file = (name: string, content: string | Buffer, mode: number) => {
      writeFileSync(join(dir, name), content);
      chmodSync(join(dir, name), mode);
    };
    file('readable.txt', 'hello world\n', 0o644);
    file('secret.txt', 'you may not read this\n', 0o000);
    file('secret.csv', 'a,b\n1,2\n', 0o000);
    file('secret.mjs', 'export default () => 1;', 0o000);
    copyFileSync(CHINOOK, join(dir, 'secret.sqlite'));
    chmodSync(join(dir, 'secret.sqlite'), 0o000);
    copyFileSync(CHINOOK, join(dir, 'readonly.sqlite'));
    chmodSync(join(dir, 'readonly.sqlite'), 0o444);
    mkdirSync(join(dir, 'readonly-folder'), { mode: 0o555 });
    chmodSync(join(dir, 'readonly-folder'), 0o555);
    mkdirSync(join(dir, 'locked'));
    writeFileSync(join(dir, 'locked/inside.txt'), 'behind a locked folder');
    chmodSync(join(dir, 'locked'), 0o000);
    mkdirSync(join(dir, 'store'), { mode: 0o777 });
    chmodSync(join(dir, 'store'), 0o777);
    const tasks = [
      { id: 'hash', kind: 'file.hash', paths: ['readable.txt', 'secret.txt'], manifest: 'store/SUMS' },
      { id: 'stats', kind: 'file.stats', paths: ['*.txt'] },
      { id: 'grep', kind: 'file.grep', paths: ['*.txt'], pattern: 'o' },
      { id: 'locked', kind: 'file.hash', paths: ['locked/inside.txt'] },
      { id: 'query', kind: 'sql.query', db: 'secret.sqlite', sql: 'SELECT 1' },
      { id: 'query-output', kind: 'sql.query', db: 'readonly.sqlite', sql: 'SELECT 1', output: { path: 'readonly-folder/out.csv' } },
      { id: 'exec', kind: 'sql.exec', db: 'readonly.sqlite', sql: 'DELETE FROM Genre' },
      { id: 'import', kind: 'csv.import', file: 'secret.csv', db: 'store/out.sqlite', table: 't' },
      { id: 'compress', kind: 'file.compress', paths: ['secret.txt'], outDir: 'store' },
      { id: 'compress-into', kind: 'file.compress', paths: ['readable.txt'], outDir: 'readonly-folder' },
      { id: 'script', kind: 'script', module: 'secret.mjs' },
    ];
    file('job.json', JSON.stringify({ name: 'permissions', tasks }), 0o644);
    const run = await runCliAsync(['run', join(dir, 'job.json'), '--json', '--data-dir', join(dir, 'store'), '--workers', '2'], unprivileged);
    expect(run.code, run.stderr).toBe(1);
    const byId = new Map((JSON.parse(run.stdout) as JobOutput).tasks.map((task) => [task.id, task]));
    const denied = (id: string, path: RegExp) => {
      const task = byId.get(id)!;
      expect(task.state, `${id}: ${JSON.stringify(task.error)}`).toBe('failed');
      expect(task.error?.code, id).toBe('EACCES');
      expect(task.error?.message, id).toMatch(path);
      expect(task.error?.message, id).toMatch(/permission denied/);
    };
    denied('locked', /locked\/inside\.txt/);
    denied('query', /secret\.sqlite/);
    denied('query-output', /readonly-folder\/out\.csv/);
    denied('exec', /readonly\.sqlite/);
    denied('import', /secret\.csv/);
    denied('compress', /secret\.txt/);
    denied('compress-into', /readonly-folder/);
    denied('script', /secret\.mjs/);

    // Batches report the unreadable file and still do the rest.
    const hash = byId.get('hash')!;
    expect(hash.state).toBe('succeeded');
    expect(hash.result).toMatchObject({ hashed: 1, failed: 1 });
    expect(hash.result!.files).toEqual([
      { path: join(dir, 'readable.txt'), size: 12, digest: 'a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447' },
      { path: join(dir, 'secret.txt'), size: null, digest: null, error: { code: 'EACCES', message: `${join(dir, 'secret.txt')}: permission denied` } },
    ]);
    expect(readFileSync(join(dir, 'store/SUMS'), 'utf8')).toBe(`a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447  ${join(dir, 'readable.txt')}\n`);
    expect(toolRun('sha256sum', ['-c', join(dir, 'store/SUMS')]).status).toBe(0);
    expect(byId.get('stats')!.result).toMatchObject({ total: { lines: 1, words: 2, bytes: 12 }, failed: 1 });
    expect(byId.get('grep')!.result).toMatchObject({ matchCount: 1, errors: [{ path: join(dir, 'secret.txt'), code: 'EACCES' }] });
  });
});
