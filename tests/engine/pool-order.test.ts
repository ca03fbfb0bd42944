/**
 * Pool tasks start in the engine's order (higher priority first, then first admitted): the pool
 * executor hands piscina a batch only when a lane takes it at once, so piscina's own queue, which
 * reorders the runs waiting in it, never holds them.
 *
 * What is checked is what the order makes certain, whatever the load: the times are the ones the
 * worker threads measured. A thread runs its batches one after another, so on one thread the
 * starts follow the order. Across threads, a batch goes to piscina only while fewer than `LANES`
 * batches are there and not ended, so when a task starts, at most `LANES - 1` tasks before it in
 * the order have not finished (their results had reached the engine before it was handed over).
 */
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import type { Engine } from '../../electron/engine/engine.js';
import { jobSpec, makeEngine } from '../support/engine-fixture.js';

const LANES = 3;
/** Batches the pool executor holds at once: one running on each lane and one in line behind it. */
const HELD = LANES * 2;
/** Slack for the clocks of two threads (each measures from its own start). */
const CLOCK_SLACK_MS = 0.5;

/** The tasks, after their jobs ended, each with its one attempt's times and thread. */
async function ran(engine: Engine, jobs: string[]): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  for (const job of jobs) {
    expect((await engine.waitForJob(job)).state).toBe('succeeded');
    tasks.push(...engine.tasksOfJob(job));
  }
  for (const task of tasks) expect(task.attempts, task.id).toBe(1);
  return tasks;
}

/** `tasks`, given in the engine's order, are started in it on every thread. */
function expectOrderOnEachThread(tasks: readonly TaskRecord[]): void {
  const threads = new Map<string, TaskRecord[]>();
  for (const task of tasks) threads.set(task.worker!, [...(threads.get(task.worker!) ?? []), task]);
  for (const [worker, own] of threads) {
    for (let i = 1; i < own.length; i++) {
      expect(own[i]!.startedAt!, `${own[i]!.id} started on ${worker} before ${own[i - 1]!.id}, which comes first`).toBeGreaterThanOrEqual(own[i - 1]!.startedAt!);
    }
  }
}

/** No task of `tasks` (in the engine's order) starts while more than `LANES - 1` before it have not finished. */
function expectNoOvertaking(tasks: readonly TaskRecord[]): void {
  for (const [index, task] of tasks.entries()) {
    const unfinished = tasks.slice(0, index).filter((before) => before.finishedAt! > task.startedAt! + CLOCK_SLACK_MS);
    expect(unfinished.map((before) => before.id), `unfinished when ${task.id} started`).toHaveLength(Math.min(unfinished.length, LANES - 1));
  }
}

describe('pool start order', () => {
  it('starts single-task jobs in the order they were submitted', async () => {
    const engine = makeEngine({ poolSize: LANES });
    const jobs: string[] = [];
    for (let i = 0; i < 60; i++) {
      const id = `t${String(i).padStart(2, '0')}`;
      jobs.push((await engine.submitJob(jobSpec([{ id, kind: 'demo.cpu', ms: 2 }]), '/')).id);
    }
    const tasks = await ran(engine, jobs);
    expectOrderOnEachThread(tasks);
    expectNoOvertaking(tasks);
  });

  it('starts a job of higher priority submitted later before the lower ones still waiting', async () => {
    const engine = makeEngine({ poolSize: LANES });
    const lowTasks = Array.from({ length: 80 }, (_, i) => ({ id: `low${String(i).padStart(2, '0')}`, kind: 'demo.cpu', ms: 5 }));
    const low = await engine.submitJob(jobSpec(lowTasks), '/');
    const high = await engine.submitJob(jobSpec([{ id: 'high', kind: 'demo.cpu', ms: 5, priority: 10 }]), '/');
    // From here the high task is first in the ready queue: only batches the executor already
    // held may start before it.
    const submitted = Date.now();
    const lows = await ran(engine, [low.id]);
    const [urgent] = await ran(engine, [high.id]);
    const startedBetween = lows.filter((task) => task.startedAt! > submitted + CLOCK_SLACK_MS && task.startedAt! < urgent!.startedAt!);
    expect(startedBetween.length, `low tasks started after the high one was submitted, before it: ${startedBetween.map((t) => t.id).join(' ')}`).toBeLessThanOrEqual(HELD);
    expect(lows.filter((task) => task.startedAt! > urgent!.startedAt!).length, 'low tasks left to start after the high one').toBeGreaterThan(0);
    expectOrderOnEachThread(lows);
    expectNoOvertaking(lows);
  });
});
