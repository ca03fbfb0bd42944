/**
 * Big job texts are read in a thread of their own (real threads, the compiled entry in dist/):
 * the same spec or the same issues as a read on the calling thread, failures of the thread
 * reported instead of waited for, and the event loop free while it works.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { soakJobText } from '../../bench/soak.js';
import { ThreadlineError } from '../../electron/engine/errors.js';
import { readJobText, THREAD_ABOVE_CHARS } from '../../electron/engine/job-reader.js';
import { readJobTextHere } from '../../electron/engine/job-text.js';
import { ROOT } from '../cli/bin.js';
import { tempDir } from '../support/engine-fixture.js';

const BASE = '/jobs/nightly (q1)';

/** Reads `text` in the thread, after checking it is big enough to go there. */
async function readInThread(text: string, fileName: string) {
  expect(text.length).toBeGreaterThan(THREAD_ABOVE_CHARS);
  return readJobText(text, fileName, BASE);
}

/** Several kinds, relative paths to resolve, and values JSON cannot carry (YAML's .inf, .nan, -0). */
function yamlJobText(tasks: number): string {
  const lines = ['name: mixed', 'concurrency: 3', 'onFailure: fail-fast', 'tasks:'];
  for (let i = 0; i < tasks; i++) {
    if (i % 4 === 0) lines.push(`  - { id: hash${i}, kind: file.hash, paths: ["data/*.csv", "/abs/x.bin"], manifest: out/SUMS${i}, priority: ${i % 7} }`);
    else if (i % 4 === 1) lines.push(`  - { id: echo${i}, kind: demo.echo, value: { n: ${i}, big: .inf, small: -.inf, nan: .nan, zero: -0, text: "é ☃ 𝄞" }, dependsOn: [hash${i - 1}] }`);
    else if (i % 4 === 2) lines.push(`  - { id: grep${i}, kind: file.grep, paths: [logs/a.log], pattern: "err(or)?", flags: i, timeoutMs: 5000 }`);
    else lines.push(`  - { id: cpu${i}, kind: demo.cpu, ms: 1, retries: 2 }`);
  }
  return `${lines.join('\n')}\n`;
}

const bigTasks = (count: number, task: (i: number) => Record<string, unknown>) => JSON.stringify({ name: 'big', tasks: Array.from({ length: count }, (_, i) => task(i)) });

describe('reading big job texts in a thread', () => {
  it('gives a 100,000-task JSON job exactly as a read on the calling thread does', async () => {
    const text = soakJobText(100_000);
    const read = await readInThread(text, 'soak.json');
    expect(read.ok && read.spec.tasks.length).toBe(100_000);
    expect(read).toStrictEqual(readJobTextHere(text, 'soak.json', BASE));
  });

  it('gives a YAML job of several kinds exactly as a read on the calling thread does, paths resolved, odd numbers kept', async () => {
    const text = yamlJobText(3000);
    const read = await readInThread(text, 'mixed.yaml');
    expect(read).toStrictEqual(readJobTextHere(text, 'mixed.yaml', BASE));
    if (!read.ok) throw new Error(JSON.stringify(read.issues[0]));
    expect(read.spec).toMatchObject({ name: 'mixed', concurrency: 3, onFailure: 'fail-fast' });
    expect(read.spec.tasks[0]!.input).toMatchObject({ paths: [`${BASE.replace(/[()]/g, '\\$&')}/data/*.csv`, '/abs/x.bin'], manifest: `${BASE}/out/SUMS0` });
    const echoed = read.spec.tasks[1]!.input.value as Record<string, number>;
    expect(echoed.big).toBe(Infinity);
    expect(echoed.small).toBe(-Infinity);
    expect(echoed.nan).toBeNaN();
    expect(Object.is(echoed.zero, -0)).toBe(true);
  });

  it.each([
    ['a JSON syntax error', 'big.json', soakJobText(5000).slice(0, -2)],
    ['a YAML syntax error', 'big.yaml', `${yamlJobText(2000)}  - { id: broken, kind: demo.echo\n`],
    ['a bad field deep inside', 'big.json', bigTasks(5000, (i) => ({ id: `t${i}`, kind: 'demo.cpu', ms: i === 4321 ? 'fast' : 1 }))],
    ['bad fields everywhere', 'big.json', bigTasks(5000, (i) => ({ id: `t${i}`, kind: 'demo.cpu', ms: i % 2 ? 'fast' : 1, tiemout: 5 }))],
    ['a dependency cycle', 'big.json', bigTasks(5000, (i) => ({ id: `t${i}`, kind: 'demo.echo', dependsOn: [`t${(i + 1) % 5000}`] }))],
    ['an unknown kind', 'big.json', bigTasks(5000, (i) => ({ id: `t${i}`, kind: i === 4999 ? 'demo.nope' : 'demo.echo' }))],
  ])('refuses %s with the issues a read on the calling thread gives, one line each', async (_case, fileName, text) => {
    const read = await readInThread(text, fileName);
    expect(read.ok).toBe(false);
    expect(read).toStrictEqual(readJobTextHere(text, fileName, BASE));
    if (read.ok) return;
    for (const issue of read.issues) expect(issue.message).not.toMatch(/[\r\n]/);
  });

  it('is found by the compiled engine in dist/ (how bin runs before a bundle is made), not the module named as the bundle names its entry', () => {
    const dir = tempDir();
    const script = join(dir, 'read.mjs');
    writeFileSync(join(dir, 'big.json'), bigTasks(3000, (i) => ({ id: `t${i}`, kind: 'demo.echo', value: i })));
    writeFileSync(
      script,
      [
        `import { readFileSync } from 'node:fs';`,
        `import { readJobText } from ${JSON.stringify(join(ROOT, 'dist/electron/engine/job-reader.js'))};`,
        `const read = await readJobText(readFileSync(${JSON.stringify(join(dir, 'big.json'))}, 'utf8'), 'big.json', '/');`,
        `console.log(read.ok ? read.spec.tasks.length : JSON.stringify(read));`,
      ].join('\n'),
    );
    expect(execFileSync(process.execPath, [script], { encoding: 'utf8' }).trim()).toBe('3000');
  });

  it('keeps the event loop turning while it reads', async () => {
    const text = soakJobText(100_000);
    let turns = 0;
    let reading = true;
    const ticking = (async () => {
      while (reading) {
        await sleep(0);
        turns++;
      }
    })();
    const read = await readInThread(text, 'soak.json');
    reading = false;
    await ticking;
    expect(read.ok).toBe(true);
    // On the calling thread the whole read is one synchronous stretch: no turn at all.
    expect(turns).toBeGreaterThan(20);
  });
});

describe('a job reader thread that cannot answer', () => {
  const big = soakJobText(5000);

  async function failure(threadFile: string): Promise<ThreadlineError> {
    const error: unknown = await readJobText(big, 'big.json', BASE, { threadFile }).then(
      () => new Error('expected the read to fail'),
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(ThreadlineError);
    expect((error as ThreadlineError).code).toBe('JOB_READER_FAILED');
    expect((error as Error).message).not.toContain('\n');
    return error as ThreadlineError;
  }

  function threadFile(name: string, code: string): string {
    const file = join(tempDir(), name);
    writeFileSync(file, code);
    return file;
  }

  it('is missing: the error names the file', async () => {
    const file = join(tempDir(), 'dist', 'job-reader-thread.js');
    expect((await failure(file)).message).toBe(`cannot read the job in a thread (${file}): no such file`);
  });

  it('throws: the error names the file and what it threw', async () => {
    const file = threadFile('throws.mjs', "throw new Error('the reader broke\\nsecond line');\n");
    expect((await failure(file)).message).toBe(`cannot read the job in a thread (${file}): the reader broke`);
  });

  it('ends without answering: the error names the file and the exit code', async () => {
    const file = threadFile('exits.mjs', 'process.exit(3);\n');
    expect((await failure(file)).message).toBe(`cannot read the job in a thread (${file}): the thread ended (exit code 3) before it answered`);
  });

  it('answers nothing and leaves: the same, with exit code 0', async () => {
    const file = threadFile('silent.mjs', '// reads nothing\n');
    expect((await failure(file)).message).toMatch(/\(exit code 0\) before it answered$/);
  });
});

describe('small job texts', () => {
  it('are read on the calling thread: no thread file is needed', async () => {
    const text = soakJobText(50);
    expect(text.length).toBeLessThanOrEqual(THREAD_ABOVE_CHARS);
    const read = await readJobText(text, 'small.json', BASE, { threadFile: '/nowhere/job-reader-thread.js' });
    expect(read).toStrictEqual(readJobTextHere(text, 'small.json', BASE));
  });
});
