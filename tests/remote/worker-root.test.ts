import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RefusedTask, WorkerRoot } from '../../electron/worker/worker-root.js';
import { tempDir } from '../support/engine-fixture.js';

function refusal(run: () => unknown): { code: string; message: string } | null {
  try {
    run();
    return null;
  } catch (error) {
    if (error instanceof RefusedTask) return { code: error.code, message: error.message };
    throw error;
  }
}

/** A root with a file, and a symbolic link in it to a folder outside it (fresh per test: temp folders go after each). */
function setUp(): { root: string; outside: string; worker: WorkerRoot } {
  const root = tempDir();
  const outside = tempDir();
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data', 'a.txt'), 'a');
  writeFileSync(join(outside, 'secret.txt'), 'no');
  symlinkSync(outside, join(root, 'data', 'link-out'));
  return { root, outside, worker: new WorkerRoot(root) };
}

describe("a worker's --root", () => {
  it('takes paths inside it, absolute or relative to it', () => {
    const { root, worker } = setUp();
    expect(worker.confine('file.hash', { paths: [join(root, 'data', 'a.txt'), 'data/*.txt'] })).toMatchObject({ paths: [join(root, 'data', 'a.txt'), `${root}/data/*.txt`] });
    expect(worker.confine('sql.query', { db: 'data/x.sqlite', sql: 'SELECT 1', output: { path: 'out/new/x.csv' } })).toMatchObject({ db: join(root, 'data/x.sqlite'), output: { path: join(root, 'out/new/x.csv') } });
  });

  it('refuses a path that leaves it by .., by a symbolic link or by a glob, naming the path and the root', () => {
    const { root, outside, worker } = setUp();
    for (const paths of [[join(outside, 'secret.txt')], ['../secret.txt'], ['data/link-out/secret.txt'], ['data/**/../../../*.txt'], [`${outside}/*.txt`]]) {
      expect(refusal(() => worker.confine('file.hash', { paths })), JSON.stringify(paths)).toEqual({ code: 'PATH_OUTSIDE_ROOT', message: `the path ${JSON.stringify(paths[0])} is outside this worker's root ${root} (--root); it is not read or written here` });
    }
    expect(refusal(() => worker.confine('script', { module: join(outside, 'evil.mjs'), export: 'default' }))).toMatchObject({ code: 'PATH_OUTSIDE_ROOT' });
    expect(refusal(() => worker.confine('sql.query', { db: 'data/x.sqlite', sql: 'SELECT 1', output: { path: '/tmp/elsewhere.csv' } }))).toMatchObject({ code: 'PATH_OUTSIDE_ROOT' });
  });

  it('refuses a pattern inside it that matches, through a symbolic link, a file or a folder outside it', () => {
    const { root, outside, worker } = setUp();
    expect(refusal(() => worker.confine('file.hash', { paths: ['data/**/*.txt'] }))).toEqual({
      code: 'PATH_OUTSIDE_ROOT',
      message: `the pattern "data/**/*.txt" matches ${root}/data/link-out/secret.txt, which is outside this worker's root ${root} (--root); it is not read or written here`,
    });
    symlinkSync(join(outside, 'secret.txt'), join(root, 'data', 'b.txt'));
    expect(refusal(() => worker.confine('file.grep', { paths: ['data/*.txt'], pattern: 'no' }))).toMatchObject({ code: 'PATH_OUTSIDE_ROOT', message: expect.stringContaining(`matches ${root}/data/b.txt, which is outside`) });
    // A link that stays inside, and one that leads nowhere, are no reason to refuse.
    symlinkSync(join(root, 'data', 'a.txt'), join(root, 'data', 'c.log'));
    symlinkSync(join(root, 'gone'), join(root, 'data', 'd.log'));
    expect(worker.confine('file.hash', { paths: ['data/*.log'] })).toMatchObject({ paths: [`${root}/data/*.log`] });
  });

  it('refuses kinds that are not built-in pool kinds', () => {
    const { worker } = setUp();
    expect(refusal(() => worker.confine('http.fetch', { url: 'http://127.0.0.1/' }))).toMatchObject({ code: 'KIND_NOT_OFFERED' });
    expect(refusal(() => worker.confine('rm -rf', {}))).toEqual({ code: 'KIND_NOT_OFFERED', message: 'this worker runs only the built-in pool kinds; "rm -rf" is not one' });
  });
});
