/**
 * Values at the edge of their type, through the real bin: numbers past what a thread count, a
 * timer or a SQL limit can hold, job files that never end or are not files, values nested deeper
 * than a thread's stack, and timeouts longer than a timer can wait. Each is run to completion or
 * refused in one line naming what is wrong; none is a stack dump, a hang or a lost result.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, expectNoStack, jobFile, runBin } from '../cli/bin.js';
import { tempDir } from '../support/engine-fixture.js';

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
