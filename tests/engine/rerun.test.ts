import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJobTextHere } from '../../electron/engine/job-text.js';
import { rerunJob, rerunSpec } from '../../electron/engine/rerun.js';
import { makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';

/** A job whose hash fails (its file is missing) so that its dependent is skipped. */
const JOB_TEXT = `
name: nightly
concurrency: 2
onFailure: continue
tasks:
  - { id: prepare, kind: demo.echo, value: 1 }
  - { id: digest, kind: file.hash, paths: [data.txt], manifest: SUMS, dependsOn: [prepare], retries: 1, retryBackoffMs: 0, timeoutMs: 60000 }
  - { id: report, kind: demo.echo, value: 2, dependsOn: [digest], priority: 5 }
  - { id: other, kind: demo.echo, value: 3 }
`;

function readSpec(baseDir: string) {
  const read = readJobTextHere(JOB_TEXT, 'nightly.yaml', baseDir);
  if (!read.ok) throw new Error(JSON.stringify(read.issues));
  return read.spec;
}

describe('rerun', () => {
  it('runs only what did not succeed, and what depends on it, from what the store kept (after a restart too)', async () => {
    const dataDir = tempDir();
    const folder = tempDir();
    const first = makeEngine({ dataDir });
    const original = await first.submitJob(readSpec(folder), folder);
    expect((await first.waitForJob(original.id)).state).toBe('failed');
    const states = Object.fromEntries(first.tasksOfJob(original.id).map((t) => [t.id, t.state]));
    expect(states).toEqual({ prepare: 'succeeded', digest: 'failed', report: 'skipped', other: 'succeeded' });
    expect(first.task(`${original.id}:digest`)!.error!.code).toBe('ENOENT');
    await first.shutdown();

    // A new engine on the same store: the job is only in the store now.
    writeFileSync(join(folder, 'data.txt'), 'rows\n');
    const engine = makeEngine({ dataDir });
    const outcome = await rerunJob(engine, original.id, { failedOnly: true });
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.job.id).not.toBe(original.id);
    expect(outcome.job).toMatchObject({ name: 'nightly', concurrency: 2, onFailure: 'continue', baseDir: folder, taskCount: 2 });
    expect((await engine.waitForJob(outcome.job.id)).state).toBe('succeeded');
    const tasks = engine.tasksOfJob(outcome.job.id);
    expect(tasks.map((t) => t.id)).toEqual(['digest', 'report']);
    // The dependency on the task that succeeded is dropped; the one between re-run tasks stays.
    expect(tasks.map((t) => t.dependsOn)).toEqual([[], ['digest']]);
    expect(tasks[0]).toMatchObject({ retries: 1, retryBackoffMs: 0, timeoutMs: 60000, input: { paths: [join(folder, 'data.txt')], manifest: join(folder, 'SUMS') } });
    expect(tasks[1]!.priority).toBe(5);
    // The manifest it wrote is one sha256sum accepts.
    expect(readFileSync(join(folder, 'SUMS'), 'utf8')).toContain('data.txt');
    expect(execFileSync('sha256sum', ['-c', 'SUMS'], { cwd: folder, encoding: 'utf8' })).toContain('OK');
    // The original job is left as it was.
    expect(engine.job(original.id)!.state).toBe('failed');
  });

  it('runs every task again as a new job with the same settings', async () => {
    const folder = tempDir();
    writeFileSync(join(folder, 'data.txt'), 'x');
    const engine = makeEngine();
    const original = await engine.submitJob(readSpec(folder), folder);
    await engine.waitForJob(original.id);
    const outcome = await rerunJob(engine, original.id, { failedOnly: false });
    if (!outcome.ok) throw new Error(outcome.reason);
    await engine.waitForJob(outcome.job.id);
    const strip = (id: string) => engine.tasksOfJob(id).map(({ id, kind, input, priority, timeoutMs, retries, retryBackoffMs, dependsOn }) => ({ id, kind, input, priority, timeoutMs, retries, retryBackoffMs, dependsOn }));
    expect(strip(outcome.job.id)).toEqual(strip(original.id));
    expect(engine.tasksOfJob(outcome.job.id).every((t) => t.state === 'succeeded')).toBe(true);
  });

  it('says why nothing was submitted: no such job, nothing left to run, a job still running', async () => {
    const engine = makeEngine();
    await expect(rerunJob(engine, 'j-nope', { failedOnly: false })).rejects.toThrow('no job "j-nope" in this data directory');
    const done = await engine.submitJob(readSpec('/'), '/');
    await engine.waitForJob(done.id);
    const allGood = await engine.submitJob({ name: 'ok', onFailure: 'continue', tasks: [{ id: 'a', kind: 'demo.echo', input: {}, priority: 0, retries: 0, retryBackoffMs: 0, dependsOn: [] }] }, '/');
    await engine.waitForJob(allGood.id);
    expect(await rerunJob(engine, allGood.id, { failedOnly: true })).toMatchObject({ ok: false, code: 'NOTHING_TO_RERUN' });
    const running = await engine.submitJob({ name: 'slow', onFailure: 'continue', tasks: [{ id: 's', kind: 'demo.sleep', input: { ms: 30_000 }, priority: 0, retries: 0, retryBackoffMs: 0, dependsOn: [] }] }, '/');
    await waitFor(() => engine.task(`${running.id}:s`)?.state === 'running');
    expect(await rerunJob(engine, running.id, { failedOnly: true })).toMatchObject({ ok: false, code: 'JOB_RUNNING' });
    engine.cancelJob(running.id);
  });

  it('keeps the tasks in their order and drops only dependencies outside the new job', () => {
    const job = { id: 'j', name: 'n', state: 'failed', concurrency: null, onFailure: 'fail-fast', baseDir: '/b', createdAt: 1, finishedAt: 2, taskCount: 4 } as const;
    const task = (id: string, state: string, dependsOn: string[] = []) =>
      ({ key: `j:${id}`, jobId: 'j', id, kind: 'demo.echo', input: {}, priority: 0, timeoutMs: null, retries: 0, retryBackoffMs: 500, dependsOn, state, attempts: 1, queuedAt: 0, startedAt: null, finishedAt: null, worker: null, progress: null, progressMessage: null, error: null, result: null }) as const;
    const tasks = [task('a', 'succeeded'), task('b', 'cancelled', ['a']), task('c', 'succeeded', ['a']), task('d', 'skipped', ['b', 'c'])];
    const spec = rerunSpec(job, tasks as never, { failedOnly: true });
    expect(spec).toEqual({
      name: 'n',
      onFailure: 'fail-fast',
      tasks: [
        { id: 'b', kind: 'demo.echo', input: {}, priority: 0, retries: 0, retryBackoffMs: 500, dependsOn: [] },
        { id: 'd', kind: 'demo.echo', input: {}, priority: 0, retries: 0, retryBackoffMs: 500, dependsOn: ['b'] },
      ],
    });
  });
});
