import { describe, expect, it } from 'vitest';
import type { ExecutorListener, ExecutorOutcome } from '../../electron/engine/executor.js';
import { Job } from '../../electron/engine/job.js';
import { LoopExecutor } from '../../electron/engine/loop-executor.js';
import { Task } from '../../electron/engine/task.js';
import { jobSpec, makeEngine, waitFor } from '../support/engine-fixture.js';

/** Longer than any test may take: a wait that ends did so because it heard the stop. */
const FOREVER_MS = 10 * 60_000;

/** A loop executor whose listener records what it hears, and `demo.sleep` tasks to hand it. */
function executor(limit = 64) {
  const heard: string[] = [];
  const outcomes = new Map<Task, Promise<ExecutorOutcome>>();
  const settle = new Map<Task, (outcome: ExecutorOutcome) => void>();
  const listener: ExecutorListener = {
    beginning: (tasks) => heard.push(`beginning ${tasks.map((t) => t.id).join(' ')}`),
    started: (task) => {
      task.attempts++;
      heard.push(`started ${task.id}`);
    },
    interrupted: () => {},
    progress: () => {},
    log: () => {},
    finished: (task, outcome) => settle.get(task)!(outcome),
  };
  const loop = new LoopExecutor(limit, listener);
  const job = new Job('j-1', 'loop', null, 'continue', '/', 1);
  const task = (id: string, kind: string, input: Record<string, unknown>) => {
    const made = new Task(job, `j-1:${id}`, id, 0, kind, 'loop', input, 0, null, 0, 0, [], 1);
    outcomes.set(made, new Promise((resolve) => settle.set(made, resolve)));
    return made;
  };
  const sleep = (id: string, ms: number) => task(id, 'demo.sleep', { ms });
  /** Hands `tasks` over in one fill, as the scheduler does. */
  const fill = (tasks: Task[]) => {
    const ready = [...tasks];
    loop.fill((request = {}) => {
      const task = ready[0];
      if (!task || (request.accept && !request.accept(task))) return null;
      return ready.shift()!;
    });
    return ready;
  };
  return { loop, heard, task, sleep, fill, outcome: (task: Task) => outcomes.get(task)! };
}

describe('loop executor', () => {
  it('hands every task of one fill over in one beginning, up to its limit for jobs without a concurrency', async () => {
    const { loop, heard, sleep, fill, outcome } = executor(2);
    const [a, b, c] = [sleep('a', 1), sleep('b', 1), sleep('c', 1)];
    expect(fill([a, b, c])).toEqual([c]);
    expect(heard).toEqual(['beginning a b', 'started a', 'started b']);
    expect((await outcome(a)).type).toBe('succeeded');
    expect(await outcome(b)).toMatchObject({ type: 'succeeded', result: { sleptMs: expect.any(Number) }, worker: 'loop' });
    await loop.close();
  });

  it('a stop asked before the handler began ends its wait as soon as it begins', async () => {
    const { loop, sleep, fill, outcome } = executor();
    const task = sleep('a', FOREVER_MS);
    fill([task]);
    // The handler begins on the next microtask: the stop is already there for it.
    loop.requestStop(task);
    expect((await outcome(task)).type).toBe('stopped');
    await loop.close();
  });

  it('a task of a kind with no loop handler fails alone: the other handlers of its fill still begin', async () => {
    const { loop, task, sleep, fill, outcome } = executor();
    const [a, unknown, b] = [sleep('a', 1), task('u', 'demo.nothing', {}), sleep('b', 1)];
    fill([a, unknown, b]);
    expect(await outcome(unknown)).toMatchObject({ type: 'failed', error: { code: 'UNKNOWN_KIND' } });
    expect((await outcome(a)).type).toBe('succeeded');
    expect((await outcome(b)).type).toBe('succeeded');
    await loop.close();
  });

  it('the tasks started before a start that failed still begin', async () => {
    const ended: Array<[string, ExecutorOutcome['type']]> = [];
    let starts = 0;
    const listener: ExecutorListener = {
      beginning: () => {},
      started: () => {
        if (++starts === 2) throw new Error('the second start is refused');
      },
      interrupted: () => {},
      progress: () => {},
      log: () => {},
      finished: (task, outcome) => ended.push([task.id, outcome.type]),
    };
    const loop = new LoopExecutor(64, listener);
    const job = new Job('j-1', 'loop', null, 'continue', '/', 1);
    const ready = ['a', 'b'].map((id, i) => new Task(job, `j-1:${id}`, id, i, 'demo.sleep', 'loop', { ms: 1 }, 0, null, 0, 0, [], 1));
    expect(() => loop.fill(() => ready.shift() ?? null)).toThrow('the second start is refused');
    await waitFor(() => ended.length > 0, 20_000, 'the first task to end');
    expect(ended).toEqual([['a', 'succeeded']]);
    await loop.close();
  });

  it('a stop reaches a wait under way once, however often it is asked', async () => {
    const { loop, sleep, fill, outcome } = executor();
    const [a, b] = [sleep('a', FOREVER_MS), sleep('b', 1)];
    fill([a, b]);
    await outcome(b);
    loop.requestStop(a);
    loop.requestStop(a);
    expect((await outcome(a)).type).toBe('stopped');
    await loop.close();
  });
});

describe('async waits in the engine', () => {
  it('a cancel and a timeout end a wait at once, long before the grace period would end it', async () => {
    const engine = makeEngine({ cancelGraceMs: FOREVER_MS });
    const job = await engine.submitJob(
      jobSpec([
        { id: 'cancelled', kind: 'demo.sleep', ms: FOREVER_MS },
        { id: 'late', kind: 'demo.sleep', ms: FOREVER_MS, timeoutMs: 50 },
        { id: 'short', kind: 'demo.sleep', ms: 10 },
      ]),
      '/',
    );
    await waitFor(() => engine.task(`${job.id}:cancelled`)?.state === 'running', 20_000, 'the wait to begin');
    expect(engine.cancelTask(`${job.id}:cancelled`)).toBe(true);
    expect((await engine.waitForJob(job.id)).state).toBe('failed');
    expect(engine.task(`${job.id}:cancelled`)).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
    expect(engine.task(`${job.id}:late`)).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT' } });
    expect(engine.task(`${job.id}:short`)).toMatchObject({ state: 'succeeded', result: { sleptMs: expect.any(Number) } });
  });
});
