import { describe, expect, it } from 'vitest';
import { jobSpec, makeEngine } from '../support/engine-fixture.js';

function startOrder(engine: ReturnType<typeof makeEngine>): string[] {
  const order: string[] = [];
  engine.on('task', (task) => {
    if (task.state === 'running' && !order.includes(task.id)) order.push(task.id);
  });
  return order;
}

describe('scheduling', () => {
  it('starts higher priorities first, and equal priorities in the order they came', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const order = startOrder(engine);
    // The blocker holds the only thread while the rest queue up behind it.
    const job = await engine.submitJob(
      jobSpec(
        [
          { id: 'blocker', kind: 'demo.block', ms: 150, priority: 100 },
          { id: 'low', kind: 'demo.cpu', ms: 1, priority: -5 },
          { id: 'mid1', kind: 'demo.cpu', ms: 1 },
          { id: 'high', kind: 'demo.cpu', ms: 1, priority: 10 },
          { id: 'mid2', kind: 'demo.cpu', ms: 1 },
        ],
        { concurrency: 1 },
      ),
      '/',
    );
    await engine.waitForJob(job.id);
    expect(order).toEqual(['blocker', 'high', 'mid1', 'mid2', 'low']);
  });

  it('never runs more tasks of a job at once than its concurrency', async () => {
    const engine = makeEngine({ poolSize: 2 });
    let running = 0;
    let peak = 0;
    const counted = new Set<string>();
    engine.on('task', (task) => {
      if (task.state === 'running' && !counted.has(task.key)) {
        counted.add(task.key);
        peak = Math.max(peak, ++running);
      } else if (task.state === 'succeeded' && counted.has(task.key)) running--;
    });
    const tasks = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, kind: i % 2 ? 'demo.sleep' : 'demo.block', ms: 30 }));
    const job = await engine.submitJob(jobSpec(tasks, { concurrency: 1 }), '/');
    await engine.waitForJob(job.id);
    expect(peak).toBe(1);
    expect(engine.tasksOfJob(job.id).every((t) => t.state === 'succeeded')).toBe(true);
  });

  it('runs a task only after its dependencies succeeded', async () => {
    const engine = makeEngine();
    const job = await engine.submitJob(
      jobSpec([
        { id: 'c', kind: 'demo.cpu', ms: 5, dependsOn: ['a', 'b'] },
        { id: 'a', kind: 'demo.block', ms: 60 },
        { id: 'b', kind: 'demo.sleep', ms: 20 },
      ]),
      '/',
    );
    await engine.waitForJob(job.id);
    const [c, a, b] = engine.tasksOfJob(job.id);
    expect(c!.startedAt).toBeGreaterThanOrEqual(a!.finishedAt!);
    expect(c!.startedAt).toBeGreaterThanOrEqual(b!.finishedAt!);
  });

  it('skips every task downstream of a failure, transitively, and the job fails', async () => {
    const engine = makeEngine();
    const job = await engine.submitJob(
      jobSpec([
        { id: 'bad', kind: 'demo.fail' },
        { id: 'child', kind: 'demo.cpu', ms: 1, dependsOn: ['bad'] },
        { id: 'grandchild', kind: 'demo.cpu', ms: 1, dependsOn: ['child'] },
        { id: 'unrelated', kind: 'demo.cpu', ms: 1 },
      ]),
      '/',
    );
    expect((await engine.waitForJob(job.id)).state).toBe('failed');
    const byId = Object.fromEntries(engine.tasksOfJob(job.id).map((t) => [t.id, t]));
    expect(byId.bad!.state).toBe('failed');
    expect(byId.child).toMatchObject({ state: 'skipped', attempts: 0, error: { code: 'DEPENDENCY_NOT_MET' } });
    expect(byId.grandchild).toMatchObject({ state: 'skipped', attempts: 0 });
    expect(byId.unrelated!.state).toBe('succeeded');
  });

  it('keeps a long dependency chain in order without deep recursion', async () => {
    const engine = makeEngine();
    const n = 5000;
    const tasks = Array.from({ length: n }, (_, i) => ({ id: `t${i}`, kind: i === 0 ? 'demo.fail' : 'demo.echo', dependsOn: i ? [`t${i - 1}`] : [] }));
    const job = await engine.submitJob(jobSpec(tasks), '/');
    await engine.waitForJob(job.id);
    expect(engine.stateCounts().skipped).toBe(n - 1);
  });

  it('continue: every task runs and failures are collected', async () => {
    const engine = makeEngine();
    const job = await engine.submitJob(
      jobSpec([{ id: 'f1', kind: 'demo.fail' }, { id: 'ok', kind: 'demo.cpu', ms: 50 }, { id: 'f2', kind: 'demo.fail' }], { onFailure: 'continue' }),
      '/',
    );
    expect((await engine.waitForJob(job.id)).state).toBe('failed');
    expect(engine.tasksOfJob(job.id).map((t) => t.state)).toEqual(['failed', 'succeeded', 'failed']);
  });

  it('fail-fast: the first failure cancels the rest, running and queued', async () => {
    const engine = makeEngine({ poolSize: 2, cancelGraceMs: 100 });
    const job = await engine.submitJob(
      jobSpec(
        [
          { id: 'long', kind: 'demo.block', ms: 60_000 },
          { id: 'bad', kind: 'demo.fail', ms: 50 },
          { id: 'queued', kind: 'demo.cpu', ms: 10 },
          { id: 'later', kind: 'demo.sleep', ms: 10, dependsOn: ['queued'] },
        ],
        { onFailure: 'fail-fast', concurrency: 2 },
      ),
      '/',
    );
    expect((await engine.waitForJob(job.id)).state).toBe('failed');
    const byId = Object.fromEntries(engine.tasksOfJob(job.id).map((t) => [t.id, t]));
    expect(byId.bad!.state).toBe('failed');
    expect(byId.long).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED', message: expect.stringContaining('fail-fast') } });
    expect(byId.queued).toMatchObject({ state: 'cancelled', attempts: 0 });
    expect(['cancelled', 'skipped']).toContain(byId.later!.state);
  });

  it('retries a failing task with backoff, keeping every attempt', async () => {
    const engine = makeEngine();
    const job = await engine.submitJob(jobSpec([{ id: 'flaky', kind: 'demo.fail', retries: 2, retryBackoffMs: 40 }]), '/');
    await engine.waitForJob(job.id);
    const key = `${job.id}:flaky`;
    expect(engine.task(key)).toMatchObject({ state: 'failed', attempts: 3 });
    const attempts = engine.attemptsOf(key);
    expect(attempts.map((a) => [a.attempt, a.state])).toEqual([[1, 'failed'], [2, 'failed'], [3, 'failed']]);
    // Backoff doubles: at least 40 ms before the second try and 80 ms before the third.
    expect(attempts[1]!.startedAt - attempts[0]!.finishedAt!).toBeGreaterThanOrEqual(39);
    expect(attempts[2]!.startedAt - attempts[1]!.finishedAt!).toBeGreaterThanOrEqual(79);
  });

  it('retries a timed-out task like a failed one', async () => {
    const engine = makeEngine({ cancelGraceMs: 0 });
    // A block no test outlasts: each try can only end by its timeout, however late that fires.
    const job = await engine.submitJob(jobSpec([{ id: 't', kind: 'demo.block', ms: 86_400_000, timeoutMs: 100, retries: 1, retryBackoffMs: 0 }]), '/');
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:t`)).toMatchObject({ state: 'timed_out', attempts: 2 });
    expect(engine.attemptsOf(`${job.id}:t`).map((a) => a.state)).toEqual(['timed_out', 'timed_out']);
  });

  it('retryTask runs an ended task again, with what was skipped because of it', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const job = await engine.submitJob(
      jobSpec([
        { id: 'bad', kind: 'demo.fail' },
        { id: 'child', kind: 'demo.echo', value: 1, dependsOn: ['bad'] },
        { id: 'slow', kind: 'demo.block', ms: 100 },
        { id: 'dropped', kind: 'demo.echo', value: 2 },
      ]),
      '/',
    );
    engine.cancelTask(`${job.id}:dropped`);
    await engine.waitForJob(job.id);
    expect(engine.retryTask(`${job.id}:slow`)).toBe(false); // it succeeded
    expect(engine.retryTask(`${job.id}:bad`)).toBe(true);
    expect(engine.task(`${job.id}:child`)?.state).toBe('queued');
    expect(engine.retryTask(`${job.id}:dropped`)).toBe(true);
    expect(engine.job(job.id)?.state).toBe('running');
    expect((await engine.waitForJob(job.id)).state).toBe('failed');
    expect(engine.task(`${job.id}:bad`)).toMatchObject({ state: 'failed', attempts: 2 });
    expect(engine.task(`${job.id}:child`)?.state).toBe('skipped');
    expect(engine.task(`${job.id}:dropped`)).toMatchObject({ state: 'succeeded', result: 2 });
  });

  it('retryTask of a task skipped after a cancel runs the cancelled dependency again too', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const job = await engine.submitJob(
      jobSpec([
        { id: 'blocker', kind: 'demo.block', ms: 50 },
        { id: 'dep', kind: 'demo.echo', value: 'd' },
        { id: 'child', kind: 'demo.echo', value: 'c', dependsOn: ['dep'] },
      ], { concurrency: 1 }),
      '/',
    );
    engine.cancelTask(`${job.id}:dep`);
    expect((await engine.waitForJob(job.id)).state).toBe('cancelled');
    expect(engine.task(`${job.id}:child`)?.state).toBe('skipped');
    expect(engine.retryTask(`${job.id}:child`)).toBe(true);
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    expect(engine.task(`${job.id}:dep`)).toMatchObject({ state: 'succeeded', result: 'd' });
    expect(engine.task(`${job.id}:child`)).toMatchObject({ state: 'succeeded', result: 'c' });
    expect(engine.jobs().map((j) => j.id)).toEqual([job.id]);
  });

  it('runs as many async tasks at once as a job’s concurrency asks; jobs without one share the loop limit', async () => {
    const engine = makeEngine({ loopConcurrency: 5 });
    let running = 0;
    let most = 0;
    engine.on('task', () => {
      running = engine.stateCounts().running;
      most = Math.max(most, running);
    });
    const sleeps = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, kind: 'demo.sleep', ms: 300 }));
    const wide = await engine.submitJob(jobSpec(sleeps(120), { concurrency: 100 }), '/');
    await engine.waitForJob(wide.id);
    expect(most).toBe(100);
    most = 0;
    const plain = await engine.submitJob(jobSpec(sleeps(20)), '/');
    await engine.waitForJob(plain.id);
    expect(most).toBe(5);
  });

  it('batches tiny tasks and still returns every result to its own task', async () => {
    const engine = makeEngine();
    const n = 3000;
    const job = await engine.submitJob(jobSpec(Array.from({ length: n }, (_, i) => ({ id: `e${i}`, kind: 'demo.echo', value: { i } }))), '/');
    await engine.waitForJob(job.id);
    const tasks = engine.tasksOfJob(job.id);
    expect(tasks.every((t, i) => t.state === 'succeeded' && (t.result as { i: number }).i === i && t.attempts === 1)).toBe(true);
    // Batched: once the kind proved tiny (16 tasks), up to 64 tasks travelled per message.
    expect(engine.pool.batchesSent).toBeLessThan(n / 8);
  });
});
