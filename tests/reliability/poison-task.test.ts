import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, expectNoStack, jobFile, runBin, spawnBin, finished, type BinResult } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { heldStoppableTask, heldTask } from '../support/held-task.js';
import { liveTaskState, onlyJobId, storeFile } from './crash-recovery.js';
import { integrityCheck, sqlite3, sqlite3Json } from './sqlite-cli.js';

beforeAll(assertBuilt);

const POISON = fileURLToPath(new URL('./fixtures/kills-its-process.mjs', import.meta.url));
const APPEND = fileURLToPath(new URL('./fixtures/appends-line.mjs', import.meta.url));

interface Row {
  id: string;
  state: string;
  code: string | null;
}

function rows(dataDir: string, jobId: string): Map<string, Row> {
  const sql = `SELECT id, state, json_extract(error, '$.code') AS code FROM tasks WHERE job_id = '${jobId}'`;
  return new Map(sqlite3Json<Row>(storeFile(dataDir), sql).map((row) => [row.id, row]));
}

/** How many times each line was appended to `file`: how often each task really ran. */
function runsOf(file: string): Map<string, number> {
  const runs = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) runs.set(line, (runs.get(line) ?? 0) + 1);
  return runs;
}

/**
 * 31 tasks: `first` (its success stored before the crash), a `gate` that holds the poison back
 * until then, `beside` (running on the other thread when the poison kills the process), the
 * poison, and 27 tasks that wait for `beside`. `gate` and `beside` are held until released.
 */
function poisonJob(runsFile: string, gate: Record<string, unknown>, beside: Record<string, unknown>): unknown {
  const append = (id: string, dependsOn: string[]) => ({ id, kind: 'script', module: APPEND, args: { file: runsFile, line: id }, dependsOn });
  return {
    name: 'poison',
    tasks: [
      append('first', []),
      { ...gate, dependsOn: ['first'] },
      { ...beside, dependsOn: ['first'] },
      { id: 'poison', kind: 'script', module: POISON, dependsOn: ['gate'] },
      ...Array.from({ length: 27 }, (_, i) => append(`n${i}`, ['beside'])),
    ],
  };
}

/**
 * Runs the poison job until the poison kills the process. The poison is let go only once the
 * store shows `first` succeeded and `beside` running, and `beside` is held until the process
 * is dead (then released, so that a resume can finish it), however slow the machine.
 */
async function runUntilPoisoned(dataDir: string, runsFile: string, options: string[]): Promise<BinResult> {
  const gate = heldTask('gate');
  const beside = heldTask('beside');
  const child = spawnBin(['run', jobFile(poisonJob(runsFile, gate.task, beside.task)), '--data-dir', dataDir, ...options]);
  onCleanup(() => void child.kill('SIGKILL'));
  const exit = finished(child);
  await waitFor(
    () => liveTaskState(dataDir, 'first') === 'succeeded' && liveTaskState(dataDir, 'beside') === 'running',
    30_000,
    '`first` stored as succeeded and `beside` running',
    50,
  );
  gate.release();
  const result = await exit;
  beside.release();
  return result;
}

describe('a task that kills its process', () => {
  it('among 30 tasks: at most three resumes finish the job, 30 succeeded and the poison failed PROCESS_CRASHED', async () => {
    const dataDir = join(tempDir(), 'data');
    const runsFile = join(tempDir(), 'runs.txt');
    const first = await runUntilPoisoned(dataDir, runsFile, ['--workers', '2', '--json']);
    expect(first.signal).toBe('SIGKILL');
    const jobId = onlyJobId(dataDir);

    const resumes = [];
    for (let i = 0; i < 3; i++) {
      const resumed = await runBin(['resume', jobId, '--data-dir', dataDir, '--workers', '2', '--json']);
      resumes.push(resumed);
      if (resumed.signal === null) break;
      expect(resumed.signal).toBe('SIGKILL');
    }
    const last = resumes.at(-1)!;
    expect(last.signal, `still crashing after ${resumes.length} resumes`).toBeNull();
    expect(last.code).toBe(1);
    expectNoStack(last.stderr);
    const result = JSON.parse(last.stdout) as { job: { state: string }; tasks: Array<{ id: string; state: string; error: { code: string; message: string } | null }> };
    expect(result.job.state).toBe('failed');
    const poison = result.tasks.find((task) => task.id === 'poison')!;
    expect(poison.state).toBe('failed');
    expect(poison.error).toMatchObject({ code: 'PROCESS_CRASHED', message: expect.stringMatching(/^the process died 2 times while this task ran/) });

    expect(integrityCheck(storeFile(dataDir))).toBe('ok');
    const stored = rows(dataDir, jobId);
    expect(stored.size).toBe(31);
    const states = [...stored.values()].filter((row) => row.id !== 'poison');
    expect(states.filter((row) => row.state === 'succeeded').map((row) => row.id)).toHaveLength(30);
    expect(stored.get('poison')).toEqual({ id: 'poison', state: 'failed', code: 'PROCESS_CRASHED' });
    // `beside` ran next to the poison at the first crash: it shared the suspicion, ran alone, and was cleared.
    expect(stored.get('beside')).toMatchObject({ state: 'succeeded', code: null });
    // A dependency that had succeeded is never run again by a resume.
    const runs = runsOf(runsFile);
    expect(runs.get('first')).toBe(1);
    for (let i = 0; i < 27; i++) expect(runs.get(`n${i}`)).toBeGreaterThanOrEqual(1);
  });

  it('with a budget of 1: a task that only ran beside the poison is never failed for it', async () => {
    const dataDir = join(tempDir(), 'data');
    const runsFile = join(tempDir(), 'runs.txt');
    const first = await runUntilPoisoned(dataDir, runsFile, ['--workers', '2', '--crash-budget', '1']);
    expect(first.signal).toBe('SIGKILL');
    const jobId = onlyJobId(dataDir);
    // Both were marked durably before they began: the marks outlive the process.
    const marked = () => sqlite3(storeFile(dataDir), `SELECT group_concat(task_id, ' ') FROM (SELECT task_id FROM task_runs ORDER BY task_id)`);
    expect(marked()).toBe('beside poison');
    // Reading the history recovers the store: two were on the pool at the crash, so neither is
    // charged with it; both share the suspicion and will run alone.
    expect((await runBin(['jobs', '--data-dir', dataDir])).code).toBe(0);
    expect(marked()).toBe('');
    const charged = sqlite3Json<{ task_id: string; crashes: number; suspect: number }>(
      storeFile(dataDir),
      `SELECT task_id, crashes, suspect FROM task_crashes WHERE job_id = '${jobId}' ORDER BY task_id`,
    );
    expect(charged).toEqual([
      { task_id: 'beside', crashes: 0, suspect: 1 },
      { task_id: 'poison', crashes: 0, suspect: 1 },
    ]);
    let resumes = 0;
    for (;;) {
      const resumed = await runBin(['resume', '--data-dir', dataDir, '--workers', '2', '--crash-budget', '1']);
      resumes++;
      if (resumed.signal === null) break;
      expect(resumes).toBeLessThan(3);
    }
    const stored = rows(dataDir, jobId);
    expect(stored.get('beside')).toMatchObject({ state: 'succeeded' });
    expect(stored.get('poison')).toMatchObject({ state: 'failed', code: 'PROCESS_CRASHED' });
    expect([...stored.values()].filter((row) => row.state === 'succeeded')).toHaveLength(30);
  });
});

describe('interrupted jobs', () => {
  it('resume picks the jobs named; cancel ends another in the store with no engine running; unknown ids are one line', async () => {
    const dataDir = join(tempDir(), 'data');
    const runsFile = join(tempDir(), 'runs.txt');
    // Two interrupted jobs: one killed while a task ran, one shut down by SIGINT.
    const crashed = await runUntilPoisoned(dataDir, runsFile, ['--workers', '2']);
    expect(crashed.signal).toBe('SIGKILL');
    const poisonJobId = onlyJobId(dataDir);
    // `slow` runs until Ctrl-C stops it, and is released for the resume.
    const slow = heldStoppableTask('slow');
    const child = spawnBin(['run', jobFile({ name: 'slow', tasks: [slow.task, { id: 'next', kind: 'demo.echo', value: 1, dependsOn: ['slow'] }] }), '--data-dir', dataDir]);
    await waitFor(() => liveTaskState(dataDir, 'slow') === 'running', 30_000, 'the slow task to run');
    child.kill('SIGINT');
    // Stopped by Ctrl-C: 130, as a shell reports a process ended by SIGINT.
    expect((await finished(child)).code).toBe(130);
    slow.release();
    const slowJobId = sqlite3(storeFile(dataDir), `SELECT id FROM jobs WHERE name = 'slow'`);
    expect(sqlite3(storeFile(dataDir), `SELECT state FROM jobs WHERE id = '${slowJobId}'`)).toBe('interrupted');

    const unknown = await runBin(['resume', 'j-nope', '--data-dir', dataDir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('threadline: no job "j-nope" in the store\n');

    // Only the job named runs; the poison's job stays interrupted.
    const resumed = await runBin(['resume', slowJobId, '--data-dir', dataDir, '--json']);
    expect(resumed.signal).toBeNull();
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ job: { id: slowJobId, state: 'succeeded' } });
    expect(sqlite3(storeFile(dataDir), `SELECT state FROM jobs WHERE id = '${poisonJobId}'`)).toBe('interrupted');
    const done = await runBin(['resume', slowJobId, '--data-dir', dataDir]);
    expect(done.code).toBe(2);
    expect(done.stderr).toBe(`threadline: job ${slowJobId} is succeeded, not interrupted; nothing to resume\n`);

    // No serve runs: the interrupted job is cancelled in the store, its unfinished tasks with it.
    const unfinished = Number(sqlite3(storeFile(dataDir), `SELECT count(*) FROM tasks WHERE job_id = '${poisonJobId}' AND state NOT IN ('succeeded', 'failed')`));
    const cancelled = await runBin(['cancel', poisonJobId, '--data-dir', dataDir]);
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe(`job ${poisonJobId}: ${unfinished} task${unfinished === 1 ? '' : 's'} cancelled\n`);
    expect(sqlite3(storeFile(dataDir), `SELECT state FROM jobs WHERE id = '${poisonJobId}'`)).toBe('cancelled');
    expect(sqlite3(storeFile(dataDir), `SELECT group_concat(DISTINCT state) FROM tasks WHERE job_id = '${poisonJobId}' AND state <> 'succeeded'`)).toBe('cancelled');
    expect(sqlite3(storeFile(dataDir), `SELECT state FROM tasks WHERE job_id = '${poisonJobId}' AND id = 'first'`)).toBe('succeeded');
    const nothing = await runBin(['resume', '--data-dir', dataDir]);
    expect(nothing).toMatchObject({ code: 0, stderr: 'no interrupted jobs to resume\n' });
  });
});
