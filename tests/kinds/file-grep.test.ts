import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateJobSpec } from '../../contract/job-spec.js';
import type { FileGrepResult } from '../../workers/handlers/file-grep.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { expectTaskError, runTask, succeeded, toolRun } from './kind-fixture.js';

const MiB = 1024 * 1024;

function writeFiles(dir: string): void {
  mkdirSync(join(dir, 'logs/old'), { recursive: true });
  const big: string[] = [];
  for (let i = 0; i < 60_000; i++) big.push(i % 997 === 0 ? `${i} ERROR disk full on /dev/sda${i % 3}` : `${i} info all good, nothing to see ✓`);
  writeFileSync(join(dir, 'logs/app.log'), `${big.join('\n')}\n`);
  writeFileSync(join(dir, 'logs/windows.log'), 'first line\r\nan error here\r\nError again\r\nlast error without a newline');
  writeFileSync(join(dir, 'logs/old/empty.log'), '');
  writeFileSync(join(dir, 'logs/old/binary.log'), Buffer.concat([Buffer.from('error in a binary file\n'), Buffer.from([0, 1, 2, 0]), Buffer.from('\nerror\n')]));
  // A multi-byte character across the 1 MiB read boundary.
  const filler = 'x'.repeat(MiB - 2);
  writeFileSync(join(dir, 'logs/boundary.log'), `${filler}é error after the boundary\nsecond line error\n`);
}

/** `grep -n` over the same files: path:line for every matching line. */
function grepLines(dir: string, pattern: string, options: string[] = []): string[] {
  const run = toolRun('grep', ['-r', '-n', '-I', '-E', ...options, pattern, 'logs'], { cwd: dir, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  expect(run.status).toBeLessThan(2);
  return run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(':').slice(0, 2).join(':'))
    .sort();
}

describe('file.grep', () => {
  it('finds the same lines as grep -n, with columns and text, and skips binary files', async () => {
    const dir = tempDir();
    writeFiles(dir);
    const engine = makeEngine();
    const result = succeeded<FileGrepResult>(await runTask(engine, dir, { kind: 'file.grep', paths: ['logs/**/*.log'], pattern: 'error|ERROR', maxMatches: 100_000 }));
    const ours = result.matches.map((match) => `${match.path.slice(dir.length + 1)}:${match.line}`).sort();
    expect(ours).toEqual(grepLines(dir, 'error|ERROR'));
    expect(result).toMatchObject({ binaryFilesSkipped: 1, filesSearched: 4, filesMatched: 3, truncated: false, errors: [] });
    expect(result.matchCount).toBe(result.matches.length);
    const windows = result.matches.filter((match) => match.path.endsWith('windows.log'));
    expect(windows).toEqual([
      { path: join(dir, 'logs/windows.log'), line: 2, column: 4, text: 'an error here' },
      { path: join(dir, 'logs/windows.log'), line: 4, column: 6, text: 'last error without a newline' },
    ]);
    const boundary = result.matches.filter((match) => match.path.endsWith('boundary.log'));
    // The é was split between two reads; decoded whole, it is one character before the match.
    expect(boundary.map((match) => [match.line, match.column])).toEqual([
      [1, MiB + 1],
      [2, 13],
    ]);
    // Long lines are clipped in the result.
    expect(boundary[0]!.text).toBe(`${'x'.repeat(1000)}…`);
  });

  it('takes RegExp flags and stops at maxMatches', async () => {
    const dir = tempDir();
    writeFiles(dir);
    const engine = makeEngine();
    const insensitive = succeeded<FileGrepResult>(await runTask(engine, dir, { kind: 'file.grep', paths: ['logs/windows.log'], pattern: '^error', flags: 'i' }));
    expect(insensitive.matches.map((match) => match.line)).toEqual([3]);
    const capped = succeeded<FileGrepResult>(await runTask(engine, dir, { kind: 'file.grep', paths: ['logs/app.log', 'logs/windows.log'], pattern: 'ERROR', maxMatches: 5 }));
    expect(capped.matches.map((match) => match.line)).toEqual([1, 998, 1995, 2992, 3989]);
    expect(capped).toMatchObject({ matchCount: 5, truncated: true, filesSearched: 1 });
  });

  it('refuses a bad pattern: in the job file, or with flags that make it invalid', async () => {
    const checked = validateJobSpec({ name: 'x', tasks: [{ id: 'g', kind: 'file.grep', paths: ['a'], pattern: '(unclosed' }] });
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.issues).toEqual([{ path: 'tasks[0].pattern', message: 'not a valid regular expression' }]);
    const flags = validateJobSpec({ name: 'x', tasks: [{ id: 'g', kind: 'file.grep', paths: ['a'], pattern: 'a', flags: 'g' }] });
    expect(flags.ok).toBe(false);
    const dir = tempDir();
    writeFiles(dir);
    const engine = makeEngine();
    // Valid without flags, invalid in Unicode mode (an identity escape).
    expectTaskError(await runTask(engine, dir, { kind: 'file.grep', paths: ['logs/app.log'], pattern: 'a\\-b', flags: 'u' }), 'BAD_PATTERN', /^pattern: Invalid regular expression/);
    expectTaskError(await runTask(engine, dir, { kind: 'file.grep', paths: ['nope/*.log'], pattern: 'x' }), 'NO_MATCH', /no file matches/);
  });
});
