/**
 * Values at the edge of their type, through the real bin: numbers past what a thread count, a
 * timer or a SQL limit can hold, job files that never end or are not files, values nested deeper
 * than a thread's stack, and timeouts longer than a timer can wait. Each is run to completion or
 * refused in one line naming what is wrong; none is a stack dump, a hang or a lost result.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from '../../shared/nesting.js';
import { assertBuilt, BIN, expectNoStack, finished, jobFile, ROOT, runBin, spawnBin } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { storeFile } from './crash-recovery.js';
import { sqlite3 } from './sqlite-cli.js';

beforeAll(assertBuilt);

const ECHO_JOB = { name: 'edge', tasks: [{ id: 'a', kind: 'demo.echo', value: 1 }] };

describe('whole-number options at the edge', () => {
  it('refuses thread counts, waits and limits a pool, a timer or SQLite cannot hold, and numbers not written in digits, in one line, exit 2', async () => {
    const file = jobFile(ECHO_JOB);
    const dataDir = tempDir();
    const refused: Array<[string[], string]> = [
      [['run', file, '--workers', '2147483648'], '--workers must be a whole number from 0 to 1024 (got "2147483648")'],
      [['run', file, '--workers', '1025'], '--workers must be a whole number from 0 to 1024 (got "1025")'],
      [['run', file, '--workers', '0x10'], '--workers must be a whole number from 0 to 1024 (got "0x10")'],
      [['run', file, '--workers', ''], '--workers must be a whole number from 0 to 1024 (got "")'],
      [['run', file, '--workers', ' 3'], '--workers must be a whole number from 0 to 1024 (got " 3")'],
      [['serve', '--workers', '9007199254740993'], '--workers must be a whole number from 0 to 1024 (got "9007199254740993")'],
      [['worker', '--redis', 'redis://127.0.0.1:1', '--workers', '100000'], '--workers must be a whole number from 1 to 1024 (got "100000")'],
      // A timer longer than 2^31 - 1 ms fires at once: a long grace would end threads at once.
      [['run', file, '--grace', '2147483648'], '--grace must be a whole number from 0 to 2147483647 (got "2147483648")'],
      [['jobs', '--limit', '1e20'], '--limit must be a whole number of 1 or more (got "1e20")'],
      [['jobs', '--limit', '9007199254740993'], '--limit must be a whole number of 1 or more (got "9007199254740993")'],
      [['run', file, '--loop-concurrency', '1e309'], '--loop-concurrency must be a whole number of 1 or more (got "1e309")'],
      [['run', file, '--crash-budget', 'NaN'], '--crash-budget must be a whole number of 1 or more (got "NaN")'],
    ];
    const results = await Promise.all(refused.map(([args]) => runBin([...args, '--data-dir', dataDir])));
    results.forEach((result, i) => {
      const [args, message] = refused[i]!;
      const what = args.join(' ');
      expect(result.stderr, what).toContain(message);
      expectNoStack(result.stderr);
      expect(result.code, what).toBe(2);
      expect(result.stdout, what).toBe('');
    });
  });

  it('takes the largest values each one allows', async () => {
    const file = jobFile(ECHO_JOB);
    const dataDir = tempDir();
    const run = await runBin(['run', file, '--data-dir', dataDir, '--grace', '2147483647', '--loop-concurrency', '9007199254740991', '--crash-budget', '9007199254740991', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ job: { state: 'succeeded' } });
    const listed = await runBin(['jobs', '--data-dir', dataDir, '--limit', '9007199254740991', '--json']);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
  });
});

describe('job files that are not regular files', () => {
  it('refuses a device that never ends in one line once past the size limit, exit 2', async () => {
    const result = await runBin(['run', '/dev/zero', '--data-dir', tempDir()]);
    expect(result.stderr).toBe('threadline: /dev/zero: is more than 268435456 bytes long; the limit is 268435456\n');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });

  it('reads a named pipe to its end and runs the job it carries', async () => {
    const fifo = join(tempDir(), 'job.json');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'printf %s "$1" > "$2"', 'sh', JSON.stringify(ECHO_JOB), fifo], { stdio: 'ignore' });
    onCleanup(() => void writer.kill('SIGKILL'));
    const result = await runBin(['run', fifo, '--data-dir', tempDir(), '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ job: { state: 'succeeded' }, tasks: [{ id: 'a', result: 1 }] });
  });
});

describe('job file encodings', () => {
  it('reads a UTF-8 file with a byte order mark, as JSON and as YAML', async () => {
    const dataDir = tempDir();
    const json = jobFile(`\uFEFF${JSON.stringify(ECHO_JOB)}`, 'bom.json');
    const yaml = jobFile('\uFEFFname: edge\ntasks:\n  - id: a\n    kind: demo.echo\n    value: 1\n', 'bom.yaml');
    for (const file of [json, yaml]) {
      const result = await runBin(['run', file, '--data-dir', dataDir, '--json']);
      expect(result.stderr, file).toBe('');
      expect(result.code, file).toBe(0);
      expect(JSON.parse(result.stdout), file).toMatchObject({ job: { name: 'edge', state: 'succeeded' }, tasks: [{ id: 'a', result: 1 }] });
    }
  });

  it('refuses UTF-16 and bytes that are not UTF-8 by name, instead of reading them with their bytes replaced', async () => {
    const dir = tempDir();
    const utf16 = join(dir, 'utf16.json');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(ECHO_JOB), 'utf16le')]));
    const latin1 = join(dir, 'latin1.json');
    // "café" in Latin-1: the path would otherwise be read as "caf\uFFFD", another file.
    writeFileSync(latin1, Buffer.from(JSON.stringify({ name: 'edge', tasks: [{ id: 'a', kind: 'file.hash', paths: ['café.txt'] }] }), 'latin1'));
    const results = await Promise.all([utf16, latin1].map((file) => runBin(['run', file, '--data-dir', join(dir, 'data')])));
    expect(results[0]!.stderr).toBe(`threadline: ${utf16}: is UTF-16 text (it starts with a UTF-16 byte order mark); expected UTF-8\n`);
    expect(results[1]!.stderr).toBe(`threadline: ${latin1}: holds bytes that are not UTF-8 text; expected a UTF-8 JSON or YAML job file\n`);
    for (const result of results) expect(result.code).toBe(2);
  });
});

describe('NUL in paths', () => {
  it('refuses a path with a NUL character in the job file, by field, before any task runs', async () => {
    const nul = '\u0000';
    const file = jobFile({
      name: 'nul',
      tasks: [
        { id: 'script', kind: 'script', module: `./a${nul}b.mjs` },
        { id: 'hash', kind: 'file.hash', paths: ['ok.txt', `x${nul}*.txt`] },
        { id: 'query', kind: 'sql.query', db: `./x${nul}.db`, sql: 'SELECT 1' },
        { id: 'fetch', kind: 'http.fetch', url: 'http://127.0.0.1:1/', output: `./o${nul}ut` },
      ],
    });
    const dataDir = tempDir();
    const result = await runBin(['run', file, '--data-dir', dataDir]);
    const problem = 'a path cannot hold a NUL character (\\u0000)';
    expect(result.stderr).toBe(
      [`tasks[0].module: ${problem}`, `tasks[1].paths[1]: ${problem}`, `tasks[2].db: ${problem}`, `tasks[3].output: ${problem}`].map((line) => `threadline: ${file}: ${line}\n`).join(''),
    );
    expect(result.code).toBe(2);
    expect((await runBin(['jobs', '--data-dir', dataDir])).stdout).toBe('no jobs yet\n');
  });
});

/** `n` arrays, each the only item of the one around it: `[[[]]]` for 3. */
function nested(n: number): string {
  return '['.repeat(n) + ']'.repeat(n);
}

describe('values nested deeper than a thread can read', () => {
  // The document, its tasks list and the task take three levels above the value.
  const deepest = MAX_NESTING_DEPTH - 3;

  it('runs a job file nested to the limit, its value echoed back whole and stored as given', async () => {
    const dataDir = tempDir();
    const file = jobFile(`{"name":"deep","tasks":[{"id":"a","kind":"demo.echo","value":${nested(deepest)}}]}`);
    const result = await runBin(['run', file, '--data-dir', dataDir, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { tasks: Array<{ result: unknown }> };
    expect(JSON.stringify(out.tasks[0]!.result)).toBe(nested(deepest));
    expect(sqlite3(storeFile(dataDir), "SELECT result FROM tasks WHERE id = 'a'")).toBe(nested(deepest));
  });

  it('refuses a job file nested past the limit by the path that leads there, in one line, exit 2: JSON of any depth and YAML', async () => {
    const dataDir = tempDir();
    const cases: Array<[string, string]> = [
      ['over.json', `{"name":"deep","tasks":[{"id":"a","kind":"demo.echo","value":1},{"id":"b","kind":"demo.echo","value":{"x":${nested(deepest)}}}]}`],
      // Read in a thread of its own (it is over 64 KiB), where it once ended the thread.
      ['far.json', `{"name":"deep","tasks":[{"id":"a","kind":"demo.echo","value":1},{"id":"b","kind":"demo.echo","value":{"x":${nested(200_000)}}}]}`],
      ['over.yaml', `name: deep\ntasks:\n  - id: a\n    kind: demo.echo\n    value: 1\n  - id: b\n    kind: demo.echo\n    value:\n      x: ${nested(deepest)}\n`],
    ];
    const files = cases.map(([name, text]) => jobFile(text, name));
    const results = await Promise.all(files.map((file) => runBin(['run', file, '--data-dir', dataDir])));
    results.forEach((result, i) => {
      const [name] = cases[i]!;
      expect(result.stderr, name).toBe(`threadline: ${files[i]!}: tasks[1].value.x[0]: nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep; the limit is ${MAX_NESTING_DEPTH}\n`);
      expect(result.code, name).toBe(2);
    });
  });

  it('refuses YAML nested past the limit before its parser composes it, by the same path: flow and block style, 3,000 to 100,000 levels, through run and schedule add', async () => {
    const dataDir = tempDir();
    const task = (value: string) => `name: deep\nschedule: { cron: "0 2 * * *" }\ntasks:\n  - id: a\n    kind: demo.echo\n    value:${value}\n`;
    let indented = '';
    for (let level = 0; level < 3_000; level++) indented += `\n${' '.repeat(6 + level)}a:`;
    const cases: Array<[string, string, string]> = [
      ['flow-seq.yaml', task(` ${nested(100_000)}`), 'tasks[0].value[0][0]'],
      ['flow-map.yaml', task(` ${'{a: '.repeat(3_000)}1${'}'.repeat(3_000)}`), 'tasks[0].value.a.a'],
      ['compact-seq.yaml', task(`\n      ${'- '.repeat(100_000)}1`), 'tasks[0].value[0][0]'],
      // 4.5 MB of indentation: read in a thread of its own.
      ['block-map.yaml', task(`${indented} 1`), 'tasks[0].value.a.a'],
      // A pair in a flow sequence is a map of its own: two levels a step.
      ['flow-pairs.yaml', task(` ${'[a: '.repeat(3_000)}1${']'.repeat(3_000)}`), 'tasks[0].value[0].a'],
    ];
    const files = cases.map(([name, text]) => jobFile(text, name));
    for (const command of ['run', 'schedule add']) {
      const results = await Promise.all(files.map((file) => runBin([...command.split(' '), file, '--data-dir', dataDir])));
      results.forEach((result, i) => {
        const [name, , path] = cases[i]!;
        expect(result.stderr, `${command} ${name}`).toBe(`threadline: ${files[i]!}: ${path}: nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep; the limit is ${MAX_NESTING_DEPTH}\n`);
        expect(result.code, `${command} ${name}`).toBe(2);
      });
    }
  });

  it('refuses YAML whose aliases nest a value past the limit, and an alias bomb, each in one line naming the file', async () => {
    const dataDir = tempDir();
    // Each anchor nests the one before 300 levels deeper: no line of the text is too deep, the value is.
    const chain = ['a0: &a0 1', ...[1, 2, 3].map((i) => `a${i}: &a${i} ${'['.repeat(300)}*a${i - 1}${']'.repeat(300)}`)].join('\n      ');
    const deep = jobFile(`name: deep\ntasks:\n  - id: a\n    kind: demo.echo\n    value:\n      ${chain}\n`, 'alias-chain.yaml');
    const lol = (c: string, of: string) => `${c}: &${c} [${Array.from({ length: 9 }, () => of).join(', ')}]`;
    const levels = 'bcdefghij'.split('').map((c, i) => lol(c, `*${String.fromCharCode(97 + i)}`));
    const bomb = jobFile(`name: lol\ntasks:\n  - id: a\n    kind: demo.echo\n    value:\n      ${[lol('a', 'lol'), ...levels].join('\n      ')}\n`, 'bomb.yaml');
    // Each anchor may be expanded 100 times by yaml's count: one of 100,000 values made 200 KB of text a job of 10 million.
    const repeated = `[${Array.from({ length: 100_000 }, () => 'x').join(',')}]`;
    const amplified = jobFile(`name: amp\ntasks:\n  - id: a\n    kind: demo.echo\n    value: &big ${repeated}\n  - id: b\n    kind: demo.echo\n    value: [${Array.from({ length: 99 }, () => '*big').join(', ')}]\n`, 'amplified.yaml');
    const run = (file: string) => runBin(['run', file, '--data-dir', dataDir]);
    const [deepRun, bombRun, amplifiedRun] = await Promise.all([run(deep), run(bomb), run(amplified)]);
    expect(deepRun.stderr).toBe(`threadline: ${deep}: tasks[0].value.a2[0]: nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep; the limit is ${MAX_NESTING_DEPTH}\n`);
    expect(deepRun.code).toBe(2);
    expect(bombRun.stderr).toBe(`threadline: ${bomb}: not valid YAML: Excessive alias count indicates a resource exhaustion attack\n`);
    expect(bombRun.code).toBe(2);
    const limit = 2 * readFileSync(amplified, 'utf8').length + 1_000_000;
    expect(amplifiedRun.stderr).toBe(`threadline: ${amplified}: not valid YAML: its aliases expand it to more than ${limit} values and characters (twice its length, plus 1000000); repeat less\n`);
    expect(amplifiedRun.code).toBe(2);
  });

  it('runs a YAML job whose anchors are reused, each alias the value of its anchor', async () => {
    const dataDir = tempDir();
    const file = jobFile(`name: reuse\ntasks:\n  - id: a\n    kind: demo.echo\n    value: &v {list: &l [1, 2, 3], text: &t hello}\n  - id: b\n    kind: demo.echo\n    value: [*v, *l, *t, *l]\n`, 'reuse.yaml');
    const result = await runBin(['run', file, '--data-dir', dataDir, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { tasks: Array<{ id: string; result: unknown }> };
    const v = { list: [1, 2, 3], text: 'hello' };
    expect(out.tasks.map((t) => [t.id, t.result])).toEqual([['a', v], ['b', [v, [1, 2, 3], 'hello', [1, 2, 3]]]]);
  });

  it('fails a task whose result nests past the limit with BAD_RESULT, and the job ends; one at the limit succeeds', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'deep.mjs'), 'export default function deep(args) { let v = []; for (let i = 1; i < args.depth; i++) v = [v]; return v; }\n');
    const file = join(dir, 'job.json');
    const task = (id: string, depth: number) => ({ id, kind: 'script', module: './deep.mjs', args: { depth } });
    writeFileSync(file, JSON.stringify({ name: 'deep results', tasks: [task('at', MAX_NESTING_DEPTH), task('over', MAX_NESTING_DEPTH + 1), task('far', 10_000)] }));
    const dataDir = join(dir, 'data');
    const result = await runBin(['run', file, '--data-dir', dataDir, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout) as { job: { state: string }; tasks: Array<{ id: string; state: string; result: unknown; error: { code: string; message: string } | null }> };
    expect(out.job.state).toBe('failed');
    const byId = new Map(out.tasks.map((t) => [t.id, t]));
    expect(JSON.stringify(byId.get('at')!.result)).toBe(nested(MAX_NESTING_DEPTH));
    for (const id of ['over', 'far']) {
      expect(byId.get(id), id).toMatchObject({ state: 'failed', error: { code: 'BAD_RESULT', message: `the result nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep; the limit is ${MAX_NESTING_DEPTH}` } });
    }
    expect(sqlite3(storeFile(dataDir), 'SELECT id, state FROM tasks ORDER BY seq')).toBe('at|succeeded\nover|failed\nfar|failed');
  });
});

describe('timeouts longer than a timer can wait', () => {
  it('do not fire at once: tasks with timeouts of 2^31 ms and 2^53 - 1 ms run to their end, on the loop and on the pool', async () => {
    const dataDir = tempDir();
    const file = jobFile({
      name: 'long timeouts',
      tasks: [
        { id: 'loop', kind: 'demo.sleep', ms: 300, timeoutMs: 2 ** 31 },
        { id: 'pool', kind: 'demo.block', ms: 300, timeoutMs: Number.MAX_SAFE_INTEGER },
      ],
    });
    const result = await runBin(['run', file, '--data-dir', dataDir, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { tasks: Array<{ id: string; state: string }> };
    expect(out.tasks.map((t) => [t.id, t.state])).toEqual([['loop', 'succeeded'], ['pool', 'succeeded']]);
    expect(sqlite3(storeFile(dataDir), 'SELECT id, timeout_ms FROM tasks ORDER BY seq')).toBe(`loop|${2 ** 31}\npool|${Number.MAX_SAFE_INTEGER}`);
  });
});

describe('where output goes and where serve listens', () => {
  it('output to a full device ends the command with one line on stderr, exit 2, never a stack; the job is still stored', async () => {
    const dataDir = tempDir();
    const full = openSync('/dev/full', 'w');
    onCleanup(() => closeSync(full));
    const commands = [['run', jobFile(ECHO_JOB), '--json'], ['jobs', '--json'], ['jobs']];
    for (const args of commands) {
      const child = spawn(process.execPath, [BIN, ...args, '--data-dir', dataDir], { cwd: ROOT, stdio: ['ignore', full, 'pipe'] });
      onCleanup(() => void child.kill('SIGKILL'));
      const result = await finished(child);
      expect(result.stderr, args.join(' ')).toBe('threadline: cannot write the output: ENOSPC: no space left on device, write\n');
      expect(result.code, args.join(' ')).toBe(2);
    }
    expect(sqlite3(storeFile(dataDir), 'SELECT name, state FROM jobs')).toBe('edge|succeeded');
  });

  it('refuses a data directory that is a file or a device by saying so, exit 2, in every command that reads or writes one', async () => {
    const file = join(tempDir(), 'not-a-folder');
    writeFileSync(file, 'x');
    const commands = [
      ['run', jobFile(ECHO_JOB)], ['resume'], ['rerun', 'j-x'], ['serve', '--port', '0'],
      // Those that only read it once said "no jobs yet", "no job …" or "no schedules yet".
      ['jobs'], ['jobs', '--json'], ['show', 'j-x'], ['export-trace', 'j-x'], ['cancel', 'j-x'],
      ['schedule', 'list'], ['schedule', 'list', '--json'], ['schedule', 'add', jobFile({ ...ECHO_JOB, schedule: { cron: '0 2 * * *' } })],
      ['schedule', 'remove', 'n'], ['schedule', 'pause', 'n'], ['schedule', 'resume', 'n'],
    ];
    for (const dataDir of [file, '/dev/null']) {
      const results = await Promise.all(commands.map((args) => runBin([...args, '--data-dir', dataDir])));
      results.forEach((result, i) => {
        const command = commands[i]!.join(' ');
        expect(result.stderr, command).toBe(`threadline: the data directory ${dataDir} is not a folder\n`);
        expect(result.code, command).toBe(2);
        expect(result.stdout, command).toBe('');
      });
    }
    // Under a file, it can never be one.
    const under = join(file, 'data');
    const results = await Promise.all(commands.map((args) => runBin([...args, '--data-dir', under])));
    results.forEach((result, i) => {
      const command = commands[i]!.join(' ');
      expect(result.stderr, command).toBe(`threadline: the data directory ${under} cannot be made: ${file} is not a folder\n`);
      expect(result.code, command).toBe(2);
    });
  });

  it('refuses an empty --host, which would listen on every address, in one line, exit 2', async () => {
    for (const host of ['', ' ']) {
      const result = await runBin(['serve', '--host', host, '--port', '0', '--data-dir', tempDir()]);
      expect(result.stderr).toContain(`--host must be an address, such as 127.0.0.1, ::1 or 0.0.0.0 (got "${host}")`);
      expectNoStack(result.stderr);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
    }
  });
});

describe('a serve that does not answer', () => {
  it('stopped (SIGSTOP), it makes cancel fail in one line and run refuse its data directory, instead of both waiting for ever', async () => {
    const dataDir = tempDir();
    const serve = spawnBin(['serve', '--port', '0', '--data-dir', dataDir]);
    let stdout = '';
    serve.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
    serve.kill('SIGSTOP');
    onCleanup(() => void serve.kill('SIGCONT'));

    const cancel = await runBin(['cancel', 'j-none', '--data-dir', dataDir]);
    expect(cancel.stderr).toBe(`threadline: cannot reach "threadline serve" at 127.0.0.1:${url.port}: Opening handshake has timed out\n`);
    expect(cancel.code).toBe(2);
    const run = await runBin(['run', jobFile(ECHO_JOB), '--data-dir', dataDir]);
    expect(run.stderr).toBe(`threadline: the data directory ${dataDir} is in use by another Threadline (pid ${serve.pid}, stopped: \`kill -CONT ${serve.pid}\` or \`fg\` in its terminal lets it go on); stop it or pass another --data-dir\n`);
    expect(run.code).toBe(2);

    // Going on again, it answers as before.
    serve.kill('SIGCONT');
    const again = await runBin(['cancel', 'j-none', '--data-dir', dataDir]);
    expect(again.stderr).toBe('threadline: no job "j-none" in this engine\n');
    expect(again.code).toBe(2);
  }, 90_000);
});
