/**
 * Input that is valid but extreme or awkward, through the real bin: a 100,000-task job file, a
 * 10,000-deep dependency chain, names with spaces, quotes, emoji, line breaks and leading dashes,
 * and files that vanish between the glob that listed them and the read.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import { resolveJobPaths } from '../../electron/engine/job-file.js';
import { assertBuilt, expectNoStack, jobFile, runBin } from '../cli/bin.js';
import { copyChinook, parseCsv, sqlite3Csv } from '../kinds/kind-fixture.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';
import { sqlite3 } from './sqlite-cli.js';

beforeAll(assertBuilt);

interface RunOutput {
  job: { id: string; state: string; taskCount: number };
  tasks: Array<{ id: string; state: string; result: unknown; error: { code: string; message: string } | null; startedAt: number; finishedAt: number }>;
}

/** `threadline <command> --json ...args` (options first: after "--" every word is a file name). */
async function runJson(command: string, args: string[], options: { cwd?: string } = {}): Promise<RunOutput> {
  const result = await runBin([command, '--json', ...args], options);
  expectNoStack(result.stderr);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as RunOutput;
}

describe('huge and deep job files through `threadline run`', () => {
  it('runs a 100,000-task job file: every task once, every result its own, the store agrees', async () => {
    const n = 100_000;
    const file = jobFile({ name: 'huge', tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i })) });
    const dataDir = join(tempDir(), 'data');
    const out = await runJson('run', [file, '--data-dir', dataDir, '--workers', '2']);
    expect(out.job).toMatchObject({ state: 'succeeded', taskCount: n });
    expect(out.tasks).toHaveLength(n);
    out.tasks.forEach((task, i) => {
      if (task.id !== `t${i}` || task.state !== 'succeeded' || task.result !== i) expect({ i, task }).toEqual({ i, task: { id: `t${i}`, state: 'succeeded', result: i } });
    });
    const db = join(dataDir, 'threadline.db');
    expect(sqlite3(db, "SELECT count(*), sum(attempts) FROM tasks WHERE state = 'succeeded' AND result = CAST(json_extract(input, '$.value') AS TEXT)")).toBe(`${n}|${n}`);
  });

  it('runs a 10,000-deep dependency chain in order', async () => {
    const n = 10_000;
    const tasks = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, kind: 'demo.echo', value: i, ...(i > 0 ? { dependsOn: [`c${i - 1}`] } : {}) }));
    const out = await runJson('run', [jobFile({ name: 'chain', tasks }), '--workers', '2']);
    expect(out.job.state).toBe('succeeded');
    for (let i = 1; i < n; i++) {
      const [before, after] = [out.tasks[i - 1]!, out.tasks[i]!];
      if (after.state !== 'succeeded' || after.startedAt < before.finishedAt) expect({ i, before, after }).toBeUndefined();
    }
  });

  it('refuses a 10,001-task cycle and a chain broken at its far end, naming the place', async () => {
    const n = 10_001;
    const cycle = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, kind: 'demo.echo', dependsOn: [`c${(i + 1) % n}`] }));
    const refused = await runBin(['run', jobFile({ name: 'cycle', tasks: cycle }, 'cycle.json')]);
    expect(refused.code).toBe(2);
    expectNoStack(refused.stderr);
    expect(refused.stderr).toMatch(/cycle\.json: tasks\[\d+\]\.dependsOn: dependency cycle: c\d+ -> c\d+ -> .* -> c\d+/);
    expect(refused.stderr.split('\n').filter(Boolean)).toHaveLength(1);

    const broken = Array.from({ length: n }, (_, i) => ({ id: `c${i}`, kind: 'demo.echo', ...(i > 0 ? { dependsOn: [i === n - 1 ? 'missing' : `c${i - 1}`] } : {}) }));
    const brokenFile = jobFile({ name: 'broken', tasks: broken }, 'broken.json');
    const missing = await runBin(['run', brokenFile]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`threadline: ${brokenFile}: tasks[${n - 1}].dependsOn[0]: unknown task id "missing"`);
  });
});

/** Names a shell script, a glob or a command line could trip over. */
const ODD_NAMES = [
  '-leading dash.txt',
  'with "double" and \'single\' quotes.txt',
  'emoji 😀 and ünïcödé.txt',
  'brackets [1] and star *.txt',
  'back\\slash.txt',
  'line\nbreak.txt',
];

describe('unicode and odd paths', () => {
  it('in the job file, its folder and every kind\'s paths: each file found, results checked by sha256sum, sqlite3 and the script itself', async () => {
    const dir = join(tempDir(), '-odd dir "q" ü 😀 [x] {a,b}');
    mkdirSync(dir);
    ODD_NAMES.forEach((name, i) => writeFileSync(join(dir, name), `content ${i} of ${name}\n`));
    copyChinook(dir, 'my "music" 😀.sqlite');
    writeFileSync(join(dir, '-rows ü.csv'), 'id,name\n1,"ä, ö"\n2,"😀 ""quoted"""\n');
    writeFileSync(join(dir, 'we?ird #name 😀.mjs'), 'export const greet = (args) => `hello ${args.who}`;\n');
    const job = [
      'name: odd paths',
      'tasks:',
      "  - {id: hash, kind: file.hash, paths: ['*.txt'], manifest: 'sums 😀.sha256'}",
      "  - {id: hash-literal, kind: file.hash, paths: ['brackets [1] and star *.txt', '-leading dash.txt']}",
      "  - {id: query, kind: sql.query, db: 'my \"music\" 😀.sqlite', sql: 'SELECT Name FROM Artist ORDER BY ArtistId', output: {path: '-out ü.csv'}}",
      "  - {id: import, kind: csv.import, file: '-rows ü.csv', db: 'my \"music\" 😀.sqlite', table: 'rows 😀'}",
      "  - {id: script, kind: script, module: 'we?ird #name 😀.mjs', export: greet, args: {who: 'ünï 😀'}}",
    ].join('\n');
    const jobName = '-job "😀".yaml';
    writeFileSync(join(dir, jobName), job);

    const out = await runJson('run', ['--workers', '2', '--', jobName], { cwd: dir });
    const byId = new Map(out.tasks.map((task) => [task.id, task]));
    for (const task of out.tasks) expect({ id: task.id, state: task.state, error: task.error }).toEqual({ id: task.id, state: 'succeeded', error: null });

    const hashed = byId.get('hash')!.result as { files: Array<{ path: string }>; hashed: number };
    expect(hashed.files.map((file) => file.path).sort()).toEqual(ODD_NAMES.map((name) => join(dir, name)).sort());
    // The manifest checks out with coreutils, escaped names included.
    const check = execFileSync('sha256sum', ['-c', '--strict', 'sums 😀.sha256'], { cwd: dir, encoding: 'utf8' });
    expect(check.trim().split('\n')).toHaveLength(ODD_NAMES.length);
    expect(check).not.toMatch(/FAILED/);
    expect((byId.get('hash-literal')!.result as { hashed: number }).hashed).toBe(2);

    // Both are CSV; they may quote differently, so they are compared as parsed rows.
    const expected = sqlite3Csv(join(dir, 'my "music" 😀.sqlite'), 'SELECT Name FROM Artist ORDER BY ArtistId');
    expect(parseCsv(readFileSync(join(dir, '-out ü.csv'), 'utf8'))).toEqual(expected);
    expect(expected).toHaveLength(276);
    expect(sqlite3(join(dir, 'my "music" 😀.sqlite'), 'SELECT id, name FROM "rows 😀" ORDER BY id')).toBe('1|ä, ö\n2|😀 "quoted"');
    expect(byId.get('script')!.result).toBe('hello ünï 😀');
  });

  it('a leading dash without "--" is refused as an unknown option, with a hint, not run', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '-job.yaml'), 'name: x\ntasks: [{id: a, kind: demo.echo}]\n');
    const result = await runBin(['run', '-job.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expectNoStack(result.stderr);
    expect(result.stderr).toMatch(/unknown option '-job\.yaml'/);
  });
});

describe('a regular expression that backtracks for ever', () => {
  it('file.grep is stopped by its timeout, and the next task runs on a new thread', async () => {
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 100 });
    const dir = tempDir();
    writeFileSync(join(dir, 'log.txt'), `${'a'.repeat(40)}!\n`);
    const spec = resolveJobPaths(
      jobSpec([
        { id: 'grep', kind: 'file.grep', paths: ['log.txt'], pattern: '(a+)+$', timeoutMs: 500 },
        { id: 'next', kind: 'file.grep', paths: ['log.txt'], pattern: 'a!$' },
      ]),
      dir,
    );
    const job = await engine.submitJob(spec, dir);
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:grep`)).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT', message: 'timed out after 500 ms' } });
    expect(engine.task(`${job.id}:next`)).toMatchObject({ state: 'succeeded' });
    await waitFor(() => engine.pool.threadCount === 1);
  });
});

describe('files that vanish between the glob and the read', () => {
  it('file.hash reports each lost file in its entry and hashes the rest (checked by sha256sum)', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const dir = tempDir();
    // A large sparse file first: hashing it gives time to take the next ones away after the glob.
    writeFileSync(join(dir, 'a-large.bin'), '');
    truncateSync(join(dir, 'a-large.bin'), 300 * 1024 * 1024);
    for (const name of ['b-deleted.bin', 'c-now-a-folder.bin', 'd-now-a-pipe.bin', 'e-kept.bin']) writeFileSync(join(dir, name), `${name}\n`);
    // The pipe is made beforehand, outside the glob's reach, so that nothing slow (a process to
    // start) stands between the moment the hashing is seen under way and the swaps below.
    const pipe = join(tempDir(), 'pipe');
    execFileSync('mkfifo', [pipe]);
    const spec = resolveJobPaths(jobSpec([{ id: 'hash', kind: 'file.hash', paths: ['*.bin'], manifest: 'sums.sha256' }]), dir);
    const job = await engine.submitJob(spec, dir);
    const key = `${job.id}:hash`;
    // Progress on the large file means the listing is done.
    await waitFor(() => engine.task(key)?.progressMessage?.endsWith('a-large.bin'), 30_000, 'hashing of the large file');
    rmSync(join(dir, 'b-deleted.bin'));
    rmSync(join(dir, 'c-now-a-folder.bin'));
    mkdirSync(join(dir, 'c-now-a-folder.bin'));
    renameSync(pipe, join(dir, 'd-now-a-pipe.bin'));
    expect(engine.task(key)?.state).toBe('running');

    await engine.waitForJob(job.id);
    const task = engine.task(key) as TaskRecord;
    expect(task.state).toBe('succeeded');
    const result = task.result as { files: Array<{ path: string; digest: string | null; error?: { code: string; message: string } }>; hashed: number; failed: number };
    expect({ hashed: result.hashed, failed: result.failed }).toEqual({ hashed: 2, failed: 3 });
    const entry = (name: string) => result.files.find((file) => file.path === join(dir, name))!;
    expect(entry('b-deleted.bin').error).toEqual({ code: 'ENOENT', message: expect.stringContaining(join(dir, 'b-deleted.bin')) });
    expect(entry('c-now-a-folder.bin').error?.message).toMatch(/c-now-a-folder\.bin is a directory/);
    expect(entry('d-now-a-pipe.bin').error?.message).toMatch(/d-now-a-pipe\.bin is not a regular file/);
    for (const name of ['b-deleted.bin', 'c-now-a-folder.bin', 'd-now-a-pipe.bin']) {
      expect(entry(name).digest).toBeNull();
      expect(entry(name).error!.message).not.toContain('\n');
    }
    // The two that were there are hashed right; the manifest lists them only.
    const check = execFileSync('sha256sum', ['-c', '--strict', 'sums.sha256'], { cwd: dir, encoding: 'utf8' });
    expect(check.trim().split('\n').sort()).toEqual(['a-large.bin: OK', 'e-kept.bin: OK']);
    expect(engine.logsOf(key).filter((line) => line.level === 'warn')).toHaveLength(3);
  });
});
