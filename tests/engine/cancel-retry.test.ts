import { describe, expect, it } from 'vitest';
import type { TaskState } from '../../contract/task-states.js';
import { jobSpec, makeEngine } from '../support/engine-fixture.js';

/** A small, repeatable random sequence (the failures it finds can be replayed). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('cancels and retries at random over batched tasks', () => {
  it('every task ends as the last call it accepted asks, with each of its runs recorded once', async () => {
    const engine = makeEngine({ poolSize: 2 });
    const unexpected: unknown[] = [];
    const note = (error: unknown) => unexpected.push(error);
    process.on('unhandledRejection', note);
    process.on('uncaughtException', note);
    try {
      // A first job shows the kind is tiny: from then on its tasks travel 64 to a batch, and a
      // cancel withdraws them from batches that are handed over but not begun.
      const warm = await engine.submitJob(jobSpec(Array.from({ length: 200 }, (_, i) => ({ id: `w${i}`, kind: 'demo.echo', value: i }))), '/');
      await engine.waitForJob(warm.id);

      const next = random(20_261_127);
      const count = 600;
      for (let round = 0; round < 8; round++) {
        const batchesBefore = engine.pool.batchesSent;
        const job = await engine.submitJob(jobSpec(Array.from({ length: count }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i }))), '/');
        const lastAccepted = new Map<string, 'cancel' | 'retry'>();
        for (let call = 0; call < 400; call++) {
          const key = `${job.id}:t${Math.floor(next() * count)}`;
          if (engine.cancelTask(key)) lastAccepted.set(key, 'cancel');
          if (next() < 0.7 && engine.retryTask(key)) lastAccepted.set(key, 'retry');
          if (call % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        await engine.waitForJob(job.id);
        // Many tasks to a message: withdrawals really happened inside batches.
        expect(engine.pool.batchesSent - batchesBefore).toBeLessThan(count / 4);

        for (const task of engine.tasksOfJob(job.id)) {
          const last = lastAccepted.get(task.key);
          // A cancel that found the task running may lose the race to its end.
          const allowed: TaskState[] = last === 'cancel' ? ['cancelled', 'succeeded'] : ['succeeded'];
          expect(allowed, `${task.key} (last call accepted: ${last ?? 'none'})`).toContain(task.state);
          if (task.state === 'succeeded') expect(task.result, task.key).toBe(Number(task.key.slice(task.key.lastIndexOf(':t') + 2)));
          const attempts = engine.attemptsOf(task.key);
          expect(attempts.map((a) => a.attempt), task.key).toEqual(Array.from({ length: task.attempts }, (_, i) => i + 1));
          expect(attempts.every((a) => a.finishedAt !== null && a.state !== 'running'), task.key).toBe(true);
          if (task.state === 'succeeded') expect(attempts.at(-1)?.state, task.key).toBe('succeeded');
        }
      }
      expect(unexpected.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', note);
      process.off('uncaughtException', note);
    }
  }, 60_000);
});
