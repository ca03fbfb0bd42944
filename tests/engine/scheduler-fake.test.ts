import { describe, expect, it } from 'vitest';
import { TASK_STATES, type TaskState } from '../../contract/task-states.js';
import type { Engine } from '../../electron/engine/engine.js';
import { jobSpec } from '../support/engine-fixture.js';
import { fakeEngine, settle } from './fake-executor.js';

/** The engine's counts agree with the states of the tasks it holds. */
function expectCountsConsistent(engine: Engine): void {
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  for (const job of engine.jobs()) for (const task of engine.tasksOfJob(job.id)) counts[task.state]++;
  expect(engine.stateCounts()).toEqual(counts);
}

function stateOf(engine: Engine, jobId: string, id: string): TaskState | undefined {
  return engine.task(`${jobId}:${id}`)?.state;
}

describe('the scheduler and the life cycle, on a fake executor', () => {
  it('hands over higher priorities first, then in admission order, as places free up', async () => {
    const { engine, pool } = fakeEngine({ poolCapacity: 1 });
    const job = await engine.submitJob(
      jobSpec([
        { id: 'low', kind: 'demo.echo', priority: 0 },
        { id: 'high', kind: 'demo.echo', priority: 5 },
        { id: 'low2', kind: 'demo.echo', priority: 0 },
        { id: 'mid', kind: 'demo.echo', priority: 2 },
      ]),
      '/',
    );
    await settle();
    for (const id of ['high', 'mid', 'low', 'low2']) {
      expect(pool.runningIds).toEqual([id]);
      expect(stateOf(engine, job.id, id)).toBe('running');
      pool.succeed(id, id);
      await settle();
    }
    expect(pool.handed).toEqual(['high', 'mid', 'low', 'low2']);
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'succeeded' });
    expect(engine.task(`${job.id}:mid`)).toMatchObject({ state: 'succeeded', result: 'mid', attempts: 1, progress: 1, worker: 'pool' });
    expectCountsConsistent(engine);
  });

  it('keeps a job to its concurrency, and sends loop kinds to the loop executor', async () => {
    const { engine, pool, loop } = fakeEngine({ poolCapacity: 4 });
    const job = await engine.submitJob(
      jobSpec([...['a', 'b', 'c'].map((id) => ({ id, kind: 'demo.echo' })), { id: 's', kind: 'demo.sleep', ms: 1 }], { concurrency: 2 }),
      '/',
    );
    await settle();
    expect(pool.runningIds).toEqual(['a', 'b']);
    expect(loop.runningIds).toEqual([]);
    pool.succeed('a');
    await settle();
    expect(pool.runningIds).toEqual(['b', 'c']);
    pool.succeed('b');
    await settle();
    expect(loop.runningIds).toEqual(['s']);
    pool.succeed('c');
    loop.succeed('s');
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'succeeded' });
    expectCountsConsistent(engine);
  });

  it('runs a dependent after its dependency succeeded, and skips it transitively after a failure', async () => {
    const { engine, pool } = fakeEngine();
    const job = await engine.submitJob(
      jobSpec([
        { id: 'root', kind: 'demo.echo' },
        { id: 'child', kind: 'demo.echo', dependsOn: ['root'] },
        { id: 'bad', kind: 'demo.echo' },
        { id: 'skipped', kind: 'demo.echo', dependsOn: ['bad'] },
        { id: 'skipped2', kind: 'demo.echo', dependsOn: ['skipped'] },
      ]),
      '/',
    );
    await settle();
    expect(pool.runningIds).toEqual(['bad', 'root']);
    pool.fail('bad');
    expect(engine.task(`${job.id}:skipped2`)).toMatchObject({ state: 'skipped', error: { code: 'DEPENDENCY_NOT_MET' } });
    pool.succeed('root');
    await settle();
    expect(pool.runningIds).toEqual(['child']);
    expectCountsConsistent(engine);
    pool.succeed('child');
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'failed' });
    expect(pool.handed).not.toContain('skipped');
    expectCountsConsistent(engine);
  });

  it('queues a failure with retries left again after its backoff, keeping every attempt', async () => {
    const { engine, pool } = fakeEngine();
    const job = await engine.submitJob(jobSpec([{ id: 'flaky', kind: 'demo.echo', retries: 2, retryBackoffMs: 1 }]), '/');
    await settle();
    pool.fail('flaky');
    expect(engine.task(`${job.id}:flaky`)).toMatchObject({ state: 'queued', attempts: 1, error: { code: 'BOOM' } });
    expectCountsConsistent(engine);
    await settle(20);
    pool.fail('flaky');
    await settle(20);
    pool.succeed('flaky', 'third time');
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'succeeded' });
    expect(engine.task(`${job.id}:flaky`)).toMatchObject({ state: 'succeeded', attempts: 3, error: null, result: 'third time' });
    expect(engine.attemptsOf(`${job.id}:flaky`).map((a) => a.state)).toEqual(['failed', 'failed', 'succeeded']);
    expectCountsConsistent(engine);
  });

  it('a timeout asks the task to stop, ends it at once with no grace period, and it ends timed_out', async () => {
    const { engine, pool } = fakeEngine({ cancelGraceMs: 0 });
    const job = await engine.submitJob(jobSpec([{ id: 'slow', kind: 'demo.echo', timeoutMs: 10 }]), '/');
    await settle(40);
    expect(pool.stopsRequested).toEqual(['slow']);
    expect(pool.runningIds).toEqual([]);
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'failed' });
    expect(engine.task(`${job.id}:slow`)).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT' } });
    expectCountsConsistent(engine);
  });

  it('cancels a queued task without handing it over, and a running one through cancelling', async () => {
    const { engine, pool } = fakeEngine({ poolCapacity: 1, cancelGraceMs: 60_000 });
    const job = await engine.submitJob(jobSpec([{ id: 'running', kind: 'demo.echo' }, { id: 'queued', kind: 'demo.echo' }]), '/');
    await settle();
    expect(engine.cancelTask(`${job.id}:queued`)).toBe(true);
    expect(stateOf(engine, job.id, 'queued')).toBe('cancelled');
    expect(engine.cancelTask(`${job.id}:running`)).toBe(true);
    expect(stateOf(engine, job.id, 'running')).toBe('cancelling');
    expect(pool.stopsRequested).toEqual(['running']);
    expectCountsConsistent(engine);
    pool.stopped('running');
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'cancelled' });
    expect(stateOf(engine, job.id, 'running')).toBe('cancelled');
    expect(engine.cancelTask(`${job.id}:running`)).toBe(false);
    expect(pool.handed).toEqual(['running']);
    expectCountsConsistent(engine);
  });

  it('fail-fast stops the rest of the job at the first failure', async () => {
    const { engine, pool } = fakeEngine({ poolCapacity: 2, cancelGraceMs: 60_000 });
    const job = await engine.submitJob(jobSpec(['a', 'b', 'c'].map((id) => ({ id, kind: 'demo.echo' })), { onFailure: 'fail-fast' }), '/');
    await settle();
    pool.fail('a');
    expect(stateOf(engine, job.id, 'b')).toBe('cancelling');
    expect(engine.task(`${job.id}:c`)).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
    pool.stopped('b');
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'failed' });
    expectCountsConsistent(engine);
  });

  it('retryTask runs an ended task again with what was skipped because of it, and reopens the job', async () => {
    const { engine, pool } = fakeEngine();
    const job = await engine.submitJob(jobSpec([{ id: 'bad', kind: 'demo.echo' }, { id: 'after', kind: 'demo.echo', dependsOn: ['bad'] }]), '/');
    await settle();
    pool.fail('bad');
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'failed' });
    expect(engine.retryTask(`${job.id}:bad`)).toBe(true);
    expect(engine.job(job.id)).toMatchObject({ state: 'running', finishedAt: null });
    await settle();
    pool.succeed('bad');
    await settle();
    pool.succeed('after');
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'succeeded' });
    expect(engine.retryTask(`${job.id}:bad`)).toBe(false);
    expectCountsConsistent(engine);
  });

  it('a shutdown leaves what did not end interrupted, and the job with it', async () => {
    const { engine, pool } = fakeEngine({ poolCapacity: 1 });
    const job = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo' }, { id: 'b', kind: 'demo.echo' }]), '/');
    await settle();
    expect(pool.runningIds).toEqual(['a']);
    await engine.shutdown({ deadlineMs: 0 });
    expect(await engine.waitForJob(job.id)).toMatchObject({ state: 'interrupted' });
  });
});
