import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/engine-fixture.js';
import { SPLIT_MIN_ROWS } from '../../workers/handlers/key-ordered-export.js';
import { assertBuilt, BIN, expectNoStack, ROOT } from './bin.js';

beforeAll(assertBuilt);

const BUNDLE_SCRIPT = join(ROOT, 'scripts', 'bundle-cli.mjs');
/** What a split export logs, with as many threads as cores (at most 4). */
const SPLIT_LOG = new RegExp(`^rows read on ${Math.min(availableParallelism(), 4)} threads at once, in \\d+ key ranges taken in turn: \\d+ by the task's thread$`);
/** Starts a thread on the file named by the first argument; fails on its error. */
const THREAD_LOADS = "import { Worker } from 'node:worker_threads'; new Worker(process.argv[1], { execArgv: [] }).on('error', (error) => { console.error(error.message); process.exitCode = 1; });";

function sqlite3(db: string, sql: string): void {
  execFileSync('sqlite3', [db, sql]);
}

/** A folder outside the project where ES modules load and packages resolve from the project's node_modules. */
function foreignHome(): string {
  const home = tempDir();
  writeFileSync(join(home, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, 'node_modules'), join(home, 'node_modules'));
  return home;
}

describe('the bundled CLI (scripts/bundle-cli.mjs)', () => {
  it('runs a job from a folder of its own, its pool threads on the bundled worker entry and handlers', () => {
    const home = foreignHome();
    // Two folders down, so no dist/workers/ is where the engine would look for a compiled entry:
    // without the bundled one beside it, the run would fail with BUILD_MISSING.
    const out = join(home, 'a', 'b', 'cli');
    const built = spawnSync(process.execPath, [BUNDLE_SCRIPT, '--out', out], { encoding: 'utf8' });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['threadline.js', 'pool-worker.cjs', 'job-reader.js', 'store-checkpoint.js', 'key-range-thread.js', 'built']));

    // A script task reports the stack it was called from: the handler that called it, in a pool thread.
    const where = join(home, 'where.mjs');
    writeFileSync(where, "export default () => new Error('where').stack;\n");
    const job = join(home, 'job.json');
    // A key-ordered export big enough to be split: its helpers run the bundled key-range thread.
    const db = join(home, 'rows.sqlite');
    sqlite3(db, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ${SPLIT_MIN_ROWS}) INSERT INTO t SELECT x, 'row ' || x FROM n;`);
    const exportTask = { id: 'export', kind: 'sql.query', db, sql: 'SELECT id, name FROM t ORDER BY id', output: { path: join(home, 'rows.csv') } };
    writeFileSync(job, JSON.stringify({ name: 'bundled', tasks: [{ id: 'echo', kind: 'demo.echo', value: 7 }, { id: 'where', kind: 'script', module: where }, exportTask] }));
    const entry = 'const { main } = await import(process.argv[1]); process.exitCode = await main(process.argv.slice(2));';
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', entry, join(out, 'threadline.js'), 'run', job, '--json', '--data-dir', join(home, 'data')], {
      cwd: home,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { tasks } = JSON.parse(run.stdout) as { tasks: Array<{ id: string; state: string; result: unknown; logs: Array<{ message: string }> }> };
    expect(tasks.map((task) => [task.id, task.state])).toEqual([['echo', 'succeeded'], ['where', 'succeeded'], ['export', 'succeeded']]);
    if (availableParallelism() > 1) expect(tasks[2]!.logs.map((line) => line.message)).toEqual([expect.stringMatching(SPLIT_LOG)]);
    // The range threads' entry loads from the bundle (a thread that cannot start claims no range,
    // and the task's thread then reads them all: the export alone would not show it).
    const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', THREAD_LOADS, join(out, 'key-range-thread.js')], { cwd: home, encoding: 'utf8' });
    expect(loaded.stderr).toBe('');
    expect(loaded.status).toBe(0);
    // Every row, in key order, across the ranges' seams (the key-ordered tests compare the bytes).
    const lines = readFileSync(join(home, 'rows.csv'), 'utf8').split('\r\n');
    expect(lines).toHaveLength(SPLIT_MIN_ROWS + 2);
    expect(lines.every((line, i) => i === 0 || i > SPLIT_MIN_ROWS || line === `${i},row ${i}`)).toBe(true);
    expect(tasks[0]!.result).toBe(7);
    const stack = String(tasks[1]!.result);
    expect(stack).toContain(`${out}/worker-script-`);
    expect(stack).not.toContain('/dist/workers/');
  });

  it('starts its threads under Node options of a whole process too (node --expose-gc bin/threadline.js)', () => {
    const home = tempDir();
    const db = join(home, 'rows.sqlite');
    sqlite3(db, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ${SPLIT_MIN_ROWS}) INSERT INTO t SELECT x, 'row ' || x FROM n;`);
    const job = join(home, 'job.json');
    writeFileSync(job, JSON.stringify({ name: 'gc', tasks: [{ id: 'export', kind: 'sql.query', db, sql: 'SELECT id, name FROM t ORDER BY id', output: { path: join(home, 'rows.csv') } }] }));
    const run = spawnSync(process.execPath, ['--expose-gc', BIN, 'run', job, '--json', '--data-dir', join(home, 'data')], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { tasks } = JSON.parse(run.stdout) as { tasks: Array<{ state: string; logs: Array<{ message: string }> }> };
    expect(tasks[0]!.state).toBe('succeeded');
    if (availableParallelism() > 1) expect(tasks[0]!.logs.map((line) => line.message)).toEqual([expect.stringMatching(SPLIT_LOG)]);
  });

  it('refuses an unknown option and a folder that holds something else, in one line each', () => {
    const unknown = spawnSync(process.execPath, [BUNDLE_SCRIPT, '--outdir', tempDir()], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^bundle-cli: Unknown option '--outdir' \(usage: node scripts\/bundle-cli\.mjs \[--out DIR\]\)\n$/);

    const taken = tempDir();
    writeFileSync(join(taken, 'notes.txt'), 'mine');
    const refused = spawnSync(process.execPath, [BUNDLE_SCRIPT, '--out', taken], { encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toBe(`bundle-cli: ${taken} is not empty and holds no bundle of an earlier build\n`);
    expect(readdirSync(taken)).toEqual(['notes.txt']);
  });
});

describe('bin/threadline.js', () => {
  it('runs the bundle made after the last compile, else the compiled modules, else says how to build', () => {
    const home = tempDir();
    writeFileSync(join(home, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(join(home, 'bin'));
    copyFileSync(BIN, join(home, 'bin', 'threadline.js'));
    const entry = (path: string, name: string) => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `export async function main(argv) { process.stdout.write(${JSON.stringify(name)} + ' ' + argv.join(' ')); return 3; }\n`);
    };
    entry(join(home, 'dist', 'cli', 'threadline.js'), 'bundle');
    entry(join(home, 'dist', 'electron', 'cli', 'main.js'), 'compiled');
    const stamp = (path: string, seconds: number) => {
      writeFileSync(path, '');
      utimesSync(path, seconds, seconds);
    };
    const run = () => spawnSync(process.execPath, [join(home, 'bin', 'threadline.js'), 'jobs', '--json'], { encoding: 'utf8' });

    const unbuilt = run();
    expect(unbuilt.status).toBe(2);
    expect(unbuilt.stderr).toBe('threadline: the CLI is not built yet; run "npm install" (or "npm run build:node") in the project folder\n');
    expectNoStack(unbuilt.stderr);

    stamp(join(home, 'dist', '.tsbuildinfo.node'), 1_000);
    expect(run()).toMatchObject({ status: 3, stdout: 'compiled jobs --json' });
    stamp(join(home, 'dist', 'cli', 'built'), 2_000);
    expect(run()).toMatchObject({ status: 3, stdout: 'bundle jobs --json' });
    // Compiled again after the bundle was made (a bare tsc -b): the bundle is out of date.
    stamp(join(home, 'dist', '.tsbuildinfo.node'), 3_000);
    expect(run()).toMatchObject({ status: 3, stdout: 'compiled jobs --json' });
  });
});
