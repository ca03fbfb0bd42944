import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileHashResult } from '../../workers/handlers/file-hash.js';
import { CLI } from '../support/cli.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { expectTaskError, runTask, startTask, succeeded, tool, toolRun, waitForProgress } from './kind-fixture.js';

const MiB = 1024 * 1024;
/** An address-space limit (KiB) Node and its threads run under, too small for a WebAssembly memory's reservation. */
const ADDRESS_SPACE_KB = 4_000_000;
const CHECKERS = { sha256: 'sha256sum', sha1: 'sha1sum', sha512: 'sha512sum', md5: 'md5sum' } as const;

/** Files around the 1 MiB read size, empty ones, and names that need care in a manifest. */
function writeTree(dir: string): string[] {
  const files: Array<[string, Buffer]> = [
    ['tree/empty.bin', Buffer.alloc(0)],
    ['tree/one.txt', Buffer.from('x')],
    ['tree/exact-chunk.bin', randomBytes(MiB)],
    ['tree/chunk-plus-one.bin', randomBytes(MiB + 1)],
    ['tree/sub/three-and-a-half.bin', randomBytes(3.5 * MiB)],
    ['tree/sub/with space ünï.txt', Buffer.from('spaces and unicode\n')],
    ['tree/sub/back\\slash.txt', Buffer.from('a backslash in the name\n')],
    ['tree/sub/line\nbreak.txt', Buffer.from('a line break in the name\n')],
  ];
  mkdirSync(join(dir, 'tree/sub'), { recursive: true });
  for (const [name, data] of files) writeFileSync(join(dir, name), data);
  return files.map(([name]) => join(dir, name));
}

describe('file.hash', () => {
  for (const [algorithm, checker] of Object.entries(CHECKERS)) {
    it(`writes a ${algorithm} manifest that ${checker} -c accepts, with the digests ${checker} computes`, async () => {
      const dir = tempDir();
      const paths = writeTree(dir);
      const engine = makeEngine();
      const result = succeeded<FileHashResult>(await runTask(engine, dir, { kind: 'file.hash', paths: ['tree/**/*'], algorithm, manifest: 'tree/SUMS' }));
      expect(result.files.map((file) => file.path)).toEqual([...paths].sort());
      expect(result).toMatchObject({ algorithm, hashed: paths.length, failed: 0, manifest: join(dir, 'tree/SUMS') });
      expect(toolRun(checker, ['--check', '--strict', 'SUMS'], { cwd: join(dir, 'tree') }).status).toBe(0);
      for (const file of result.files) {
        const [digest] = tool(checker, ['--', file.path]).replace(/^\\/, '').split(' ');
        expect(file.digest, file.path).toBe(digest);
        expect(file.size).toBe(readFileSync(file.path).length);
      }
      // Run again, the manifest now among the files the glob matches: it does not list itself.
      const again = succeeded<FileHashResult>(await runTask(engine, dir, { kind: 'file.hash', paths: ['tree/**/*'], algorithm, manifest: 'tree/SUMS' }));
      expect(again.files.map((file) => file.path)).toEqual(result.files.map((file) => file.path));
      expect(toolRun(checker, ['--check', '--strict', 'SUMS'], { cwd: join(dir, 'tree') }).status).toBe(0);
      // A corrupted file fails the check: the manifest really pins the bytes.
      writeFileSync(join(dir, 'tree/one.txt'), 'y');
      expect(toolRun(checker, ['--check', '--quiet', 'SUMS'], { cwd: join(dir, 'tree') }).stdout).toContain('one.txt: FAILED');
    });
  }

  it('writes absolute paths for files outside the manifest folder, checkable from anywhere', async () => {
    const dir = tempDir();
    writeTree(dir);
    mkdirSync(join(dir, 'sums'));
    const engine = makeEngine();
    succeeded(await runTask(engine, dir, { kind: 'file.hash', paths: ['tree/*.bin', 'tree/one.txt'], manifest: 'sums/tree.sha256' }));
    const manifest = readFileSync(join(dir, 'sums/tree.sha256'), 'utf8');
    expect(manifest).toContain(`  ${join(dir, 'tree/one.txt')}\n`);
    expect(toolRun('sha256sum', ['--check', '--strict', join(dir, 'sums/tree.sha256')], { cwd: '/' }).status).toBe(0);
  });

  it('expands globs in order, takes names that look like globs literally, and drops duplicates', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    for (const name of ['a/2.txt', 'a/1.txt', 'a/b/3.txt', 'a/skip.log', 'report [1].txt']) writeFileSync(join(dir, name), name);
    const engine = makeEngine();
    const result = succeeded<FileHashResult>(await runTask(engine, dir, { kind: 'file.hash', paths: ['a/**/*.txt', 'a/1.txt', 'report [1].txt'] }));
    expect(result.files.map((file) => file.path)).toEqual([join(dir, 'a/1.txt'), join(dir, 'a/2.txt'), join(dir, 'a/b/3.txt'), join(dir, 'report [1].txt')]);
  });

  it('reports a glob that matches nothing, a missing file and a folder as task errors', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'folder'));
    const engine = makeEngine();
    expectTaskError(await runTask(engine, dir, { kind: 'file.hash', paths: ['nothing/**/*.txt'] }), 'NO_MATCH', /no file matches the pattern .*nothing\/\*\*\/\*\.txt/);
    expectTaskError(await runTask(engine, dir, { kind: 'file.hash', paths: ['missing.txt'] }), 'ENOENT', /missing\.txt: no such file or directory/);
    expectTaskError(await runTask(engine, dir, { kind: 'file.hash', paths: ['folder'] }), 'EISDIR', /folder is a directory; expected a file \(a glob such as .*folder\/\*\*\/\* takes the files in it\)/);
    writeFileSync(join(dir, 'ok.txt'), 'ok');
    // A manifest's missing folders are created, as for every output file; a file in the way is named.
    succeeded(await runTask(engine, dir, { kind: 'file.hash', paths: ['ok.txt'], manifest: 'new/folder/SUMS' }));
    expect(execFileSync('sha256sum', ['-c', join(dir, 'new/folder/SUMS')], { cwd: join(dir, 'new/folder'), encoding: 'utf8' })).toMatch(/ok\.txt: OK/);
    expectTaskError(await runTask(engine, dir, { kind: 'file.hash', paths: ['ok.txt'], manifest: 'ok.txt/SUMS' }), 'ENOTDIR', /the folder of .*ok\.txt\/SUMS cannot be created: a part of its path is a file/);
  });

  it('hashes in a process short of address space, where its read buffer is a plain one, with the digests sha256sum computes', () => {
    const dir = tempDir();
    const paths = writeTree(dir);
    writeFileSync(join(dir, 'job.yaml'), 'name: limited\ntasks:\n  - id: h\n    kind: file.hash\n    paths: ["tree/**/*"]\n');
    const limited = (...command: string[]) => toolRun('sh', ['-c', 'ulimit -v "$0" && exec "$@"', String(ADDRESS_SPACE_KB), ...command], { cwd: dir });
    // The case is real: under this limit a page-aligned buffer cannot be had.
    expect(limited(process.execPath, '-e', 'new WebAssembly.Memory({ initial: 16, maximum: 16 })').stderr).toContain('could not allocate memory');
    const run = limited(process.execPath, CLI, 'run', 'job.yaml', '--json', '--workers', '1', '--data-dir', join(dir, 'data'));
    expect(run.status, run.stderr).toBe(0);
    const result = (JSON.parse(run.stdout) as { tasks: Array<{ result: FileHashResult }> }).tasks[0]!.result;
    expect(result.files.map((file) => file.path)).toEqual([...paths].sort());
    for (const file of result.files) expect(file.digest, file.path).toBe(tool('sha256sum', ['--', file.path]).replace(/^\\/, '').split(' ')[0]);
  });

  it('reports progress by bytes and stops between chunks at a cancel', async () => {
    const dir = tempDir();
    // A sparse file: 64 GiB to hash, nothing on disk.
    writeFileSync(join(dir, 'huge.bin'), '');
    truncateSync(join(dir, 'huge.bin'), 64 * 1024 * MiB);
    const engine = makeEngine({ cancelGraceMs: 120_000 });
    const progress: number[] = [];
    engine.on('task', (task) => {
      if (task.state === 'running' && task.progress !== null) progress.push(task.progress);
    });
    const { key, jobId } = await startTask(engine, dir, { kind: 'file.hash', paths: ['huge.bin'], manifest: 'SUMS' });
    await waitForProgress(engine, key);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p > 0 && p < 1)).toBe(true);
    expect(existsSync(join(dir, 'SUMS'))).toBe(false);
    expect(existsSync(join(dir, 'SUMS.partial'))).toBe(false);
  });
});
