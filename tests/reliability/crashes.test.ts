import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { assertBuilt, expectNoStack, finished, jobFile, runBin, spawnBin } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { heldTask, WAITS_FOR_FILE } from '../support/held-task.js';
import {
  expectRecoverableStore,
  expectResumeCompletes,
  liveCounts,
  liveTaskState,
  onlyJobId,
  storedRows,
  storeFile,
  type StoredRow,
} from './crash-recovery.js';
import { integrityCheck, sqlite3, sqlite3Json } from './sqlite-cli.js';

beforeAll(assertBuilt);

/**
 * 1,000 tasks: one long task that is surely running at the kill, then echoes (whose result
 * is their input, so a mixed-up result shows) between short CPU tasks. The long one holds its
 * thread until its release file exists (made after the kill, for the resume): however slow the
 * machine, it cannot end before the others are well under way.
 */
function thousandTasks(release: string): Array<Record<string, unknown>> {
  return [
    { id: 'long', kind: 'script', module: WAITS_FOR_FILE, args: { file: release } },
    ...Array.from({ length: 999 }, (_, i) =>
      i % 2 === 0 ? { id: `t${i}`, kind: 'demo.echo', value: { i, text: `résultat ${i} ✓` } } : { id: `t${i}`, kind: 'demo.cpu', ms: 4 },
    ),
  ];
}

function finishedRows(dataDir: string, jobId: string): Map<string, StoredRow> {
  return new Map([...storedRows(dataDir, jobId)].filter(([, row]) => row.state === 'succeeded'));
}

/** Waits until the store shows the job well under way with `long` running; returns what had finished. */
async function midJob(dataDir: string): Promise<{ jobId: string; finishedBefore: Map<string, StoredRow> }> {
  await waitFor(() => {
    const counts = liveCounts(dataDir);
    if (!counts || (counts.succeeded ?? 0) < 150) return false;
    const long = liveTaskState(dataDir, 'long');
    if (long === null) return false;
    if (long !== 'running') throw new Error(`the long task was ${long} before 150 tasks had finished`);
    return true;
  }, 60_000, 'the job to be under way in the store');
  const jobId = onlyJobId(dataDir);
  return { jobId, finishedBefore: finishedRows(dataDir, jobId) };
}

function expectEchoResultsIntact(dataDir: string, jobId: string): void {
  for (const row of storedRows(dataDir, jobId).values()) {
    const match = /^t(\d+)$/.exec(row.id);
    if (row.state !== 'succeeded' || !match || Number(match[1]) % 2 !== 0) continue;
    const i = Number(match[1]);
    expect({ id: row.id, result: JSON.parse(row.result!) }).toEqual({ id: row.id, result: { i, text: `résultat ${i} ✓` } });
  }
}

describe('a SIGKILL of `threadline run`', () => {
  it('in the middle of a 1,000-task job: store intact, no task lost, results kept, running tasks interrupted, resume finishes', async () => {
    const dataDir = join(tempDir(), 'data');
    const release = join(tempDir(), 'release');
    const file = jobFile({ name: 'crash in the middle', tasks: thousandTasks(release) });
    const child = spawnBin(['run', file, '--data-dir', dataDir, '--workers', '2', '--json']);
    const exit = finished(child);
    const { jobId, finishedBefore } = await midJob(dataDir);
    child.kill('SIGKILL');
    expect((await exit).signal).toBe('SIGKILL');

    const interrupted = await expectRecoverableStore(dataDir, jobId, 1000, finishedBefore);
    expect(interrupted.has('long')).toBe(true);
    expect(finishedBefore.size).toBeGreaterThanOrEqual(150);
    expectEchoResultsIntact(dataDir, jobId);
    writeFileSync(release, '');
    await expectResumeCompletes(dataDir, jobId, 1000, finishedBefore, interrupted);
    expectEchoResultsIntact(dataDir, jobId);
  });

  it('while a 100,000-task job is admitted or its transitions are written, at random moments: all or nothing, never a torn store', async () => {
    const tasks = Array.from({ length: 100_000 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i }));
    const file = jobFile({ name: 'big', tasks });
    const outcomes: string[] = [];
    let resumable: { dataDir: string; jobId: string } | null = null;
    // Run 0 dies while the admission writes its slices of rows (a growing WAL means the write is
    // under way). The others die at random moments: while the file is parsed or admitted, or in
    // the burst of transitions after it.
    const moments = ['wal-growing', 'random-from-start', 'random-after-admission'];
    for (const [run, moment] of moments.entries()) {
      const dataDir = join(tempDir(), 'data');
      const db = storeFile(dataDir);
      const child = spawnBin(['run', file, '--data-dir', dataDir, '--workers', '2', '--json']);
      const exit = finished(child);
      let delay = 0;
      if (moment === 'wal-growing') {
        await waitFor(() => (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 1_000_000, 60_000, 'the admission to write');
      } else if (moment === 'random-from-start') {
        delay = Math.round(500 + Math.random() * 2500);
        await new Promise((resolve) => setTimeout(resolve, delay));
      } else {
        await waitFor(() => liveCounts(dataDir)?.queued, 60_000, 'the job to be admitted');
        delay = Math.round(Math.random() * 1000);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      child.kill('SIGKILL');
      const ended = await exit;
      const where = `run ${run} (${moment}, ${delay} ms)`;

      if (!statSync(db, { throwIfNoEntry: false })) {
        outcomes.push(`${where}: killed before the store existed`);
        continue;
      }
      expect({ where, integrity: integrityCheck(db) }).toEqual({ where, integrity: 'ok' });
      expect({ where, foreignKeys: sqlite3(db, 'PRAGMA foreign_key_check') }).toEqual({ where, foreignKeys: '' });
      if (sqlite3(db, 'PRAGMA user_version') === '0') {
        // Killed after the file was made, before its schema (one transaction) was written: not
        // one table is there, and the next open makes the store whole and empty.
        expect({ where, tables: sqlite3(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'") }).toEqual({ where, tables: '0' });
        const listed = await runBin(['jobs', '--data-dir', dataDir, '--json']);
        expect({ where, code: listed.code, listed: JSON.parse(listed.stdout) }).toEqual({ where, code: 0, listed: [] });
        expect({ where, integrity: integrityCheck(db), version: sqlite3(db, 'PRAGMA user_version') !== '0' }).toEqual({ where, integrity: 'ok', version: true });
        outcomes.push(`${where}: killed before the store's schema was written; made on the next open`);
        continue;
      }
      let jobs = sqlite3Json<{ id: string; task_count: number; admitted: number }>(db, 'SELECT id, task_count, admitted FROM jobs');
      let rows = Number(sqlite3(db, 'SELECT count(*) FROM tasks'));
      if (jobs.length === 1 && jobs[0]!.admitted === 0) {
        // Killed while the admission wrote its slices: never admitted, so no reader shows it, and the next open removes it.
        const stored = rows;
        const listed = await runBin(['jobs', '--data-dir', dataDir, '--json']);
        expect({ where, listed: JSON.parse(listed.stdout) }).toEqual({ where, listed: [] });
        jobs = sqlite3Json<{ id: string; task_count: number; admitted: number }>(db, 'SELECT id, task_count, admitted FROM jobs');
        rows = Number(sqlite3(db, 'SELECT count(*) FROM tasks'));
        expect({ where, integrity: integrityCheck(db), jobs: jobs.length, rows }).toEqual({ where, integrity: 'ok', jobs: 0, rows: 0 });
        outcomes.push(`${where}: killed while the admission wrote (${stored} rows); removed on the next open`);
        continue;
      }
      if (jobs.length === 0) {
        // The admission never began to write: not one of its rows may be there.
        expect({ where, rows }).toEqual({ where, rows: 0 });
        outcomes.push(`${where}: killed before the job was admitted; no rows`);
        continue;
      }
      expect({ where, jobs: jobs.length, taskCount: jobs[0]!.task_count, rows }).toEqual({ where, jobs: 1, taskCount: 100_000, rows: 100_000 });
      // Every stored result is the one its task computed (an echo returns its input's value).
      const wrong = sqlite3(db, "SELECT count(*) FROM tasks WHERE state = 'succeeded' AND result IS NOT CAST(json_extract(input, '$.value') AS TEXT)");
      expect({ where, wrongResults: wrong }).toEqual({ where, wrongResults: '0' });
      const jobId = jobs[0]!.id;
      const finishedBefore = finishedRows(dataDir, jobId);
      if (ended.signal !== 'SIGKILL') {
        outcomes.push(`${where}: the job ended before the kill`);
        continue;
      }
      if (finishedBefore.size === 100_000) {
        // Killed after every task's end was stored (while the process wrote its summary or shut
        // down): nothing was left to interrupt, and the job reads as the success it was.
        const listed = await runBin(['jobs', '--data-dir', dataDir, '--json']);
        expect({ where, code: listed.code, stderr: listed.stderr }).toEqual({ where, code: 0, stderr: '' });
        const [job, ...others] = JSON.parse(listed.stdout) as Array<{ id: string; state: string; counts: Record<string, number> }>;
        expect({ where, others, id: job?.id, state: job?.state, counts: job?.counts }).toEqual({ where, others: [], id: jobId, state: 'succeeded', counts: { succeeded: 100_000 } });
        outcomes.push(`${where}: killed after every task's end was stored`);
        continue;
      }
      const interrupted = await expectRecoverableStore(dataDir, jobId, 100_000, finishedBefore);
      outcomes.push(`${where}: admitted; ${finishedBefore.size} finished, ${interrupted.size} interrupted`);
      if (finishedBefore.size < 100_000) resumable = { dataDir, jobId };
    }
    console.log(outcomes.join('\n'));
    // The run after admission always leaves a job to finish.
    expect(resumable, outcomes.join('\n')).not.toBeNull();
    const { dataDir, jobId } = resumable!;
    const resumed = await runBin(['resume', '--data-dir', dataDir, '--workers', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const db = storeFile(dataDir);
    expect(integrityCheck(db)).toBe('ok');
    expect(sqlite3(db, `SELECT state, count(*) FROM tasks WHERE job_id = '${jobId}' GROUP BY state`)).toBe('succeeded|100000');
    expect(sqlite3(db, "SELECT count(*) FROM tasks WHERE result IS NOT CAST(json_extract(input, '$.value') AS TEXT)")).toBe('0');
    expect(sqlite3(db, `SELECT state FROM jobs WHERE id = '${jobId}'`)).toBe('succeeded');
    // Three 100,000-task runs and a resume: about 25 s on an idle machine of two cores.
  }, 180_000);
});

describe('a native crash in a task', () => {
  it('ends the process (no thread can contain it): the store is intact, the job interrupted, and resume runs that task again', async () => {
    const dataDir = join(tempDir(), 'data');
    const crashing = fileURLToPath(new URL('./fixtures/crashes-natively.mjs', import.meta.url));
    // `wait` holds the crash back until the finished results are in the store; `other` is
    // running beside it at the crash (released afterwards, for the resume).
    const wait = heldTask('wait');
    const other = heldTask('other');
    const file = jobFile({
      name: 'native crash',
      tasks: [
        ...Array.from({ length: 20 }, (_, i) => ({ id: `done${i}`, kind: 'demo.echo', value: i })),
        { ...wait.task, dependsOn: ['done0'] },
        { id: 'crash', kind: 'script', module: crashing, dependsOn: ['wait'] },
        other.task,
      ],
    });
    const child = spawnBin(['run', file, '--data-dir', dataDir, '--workers', '2', '--json']);
    onCleanup(() => void child.kill('SIGKILL'));
    const exit = finished(child);
    await waitFor(() => (liveCounts(dataDir)?.succeeded ?? 0) >= 20 && liveTaskState(dataDir, 'other') === 'running', 30_000, 'the echoes stored and `other` running', 50);
    wait.release();
    const first = await exit;
    other.release();
    expect(first.signal).toBe('SIGSEGV');
    const db = storeFile(dataDir);
    expect(integrityCheck(db)).toBe('ok');
    const jobId = onlyJobId(dataDir);
    const rows = storedRows(dataDir, jobId);
    expect(rows.size).toBe(23);
    for (let i = 0; i < 20; i++) expect(rows.get(`done${i}`)).toMatchObject({ state: 'succeeded', result: String(i) });
    const listed = JSON.parse((await runBin(['jobs', '--data-dir', dataDir, '--json'])).stdout) as Array<{ state: string; counts: Record<string, number> }>;
    expect(listed[0]!.state).toBe('interrupted');
    // `wait` may have ended within the last store flush before the crash: then it runs again.
    expect(listed[0]!.counts.succeeded).toBeGreaterThanOrEqual(20);
    expect(listed[0]!.counts.running).toBeUndefined();
    // What ran when the process died is run again by resume, the crashing task included.
    const again = await runBin(['resume', '--data-dir', dataDir, '--workers', '2', '--json']);
    expect(again.signal).toBe('SIGSEGV');
    expect(integrityCheck(db)).toBe('ok');
    expect(storedRows(dataDir, jobId).get('done0')).toMatchObject({ state: 'succeeded', attempts: 1 });
  });
});

describe('a SIGKILL of `threadline serve`', () => {
  it('with a 1,000-task job submitted over its WebSocket: store intact, no task lost, running tasks interrupted, resume finishes', async () => {
    const dataDir = join(tempDir(), 'data');
    const child = spawnBin(['serve', '--port', '0', '--workers', '2', '--data-dir', dataDir]);
    const exit = finished(child);
    let stdout = '';
    child.stdout!.on('data', (chunk: string) => (stdout += chunk));
    const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
    const client = await connectApi({ host: '127.0.0.1', port: Number(url.port), token: url.searchParams.get('token')! });
    onCleanup(() => client.close());
    const release = join(tempDir(), 'release');
    const submitted = await client.api.submitJob({ text: JSON.stringify({ name: 'served', tasks: thousandTasks(release) }), fileName: 'served.json' });
    if (!submitted.ok) throw new Error(`submit refused: ${JSON.stringify(submitted.issues)}`);

    const { jobId, finishedBefore } = await midJob(dataDir);
    expect(jobId).toBe(submitted.job.id);
    child.kill('SIGKILL');
    expect((await exit).signal).toBe('SIGKILL');

    const interrupted = await expectRecoverableStore(dataDir, jobId, 1000, finishedBefore);
    expect(interrupted.has('long')).toBe(true);
    expectEchoResultsIntact(dataDir, jobId);
    writeFileSync(release, '');
    await expectResumeCompletes(dataDir, jobId, 1000, finishedBefore, interrupted);
    expectEchoResultsIntact(dataDir, jobId);
    // The dead server's serve.json does not fool the next command into waiting on it.
    const cancel = await runBin(['cancel', jobId, '--data-dir', dataDir]);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toContain('is no longer running');
    expectNoStack(cancel.stderr);
  });
});
