import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { JOB_STATES, TASK_STATES, isTerminal } from '../../contract/task-states.js';
import { CrashLedger } from '../../electron/engine/crash-ledger.js';
import type { EngineEvents } from '../../electron/engine/engine-events.js';
import { Job } from '../../electron/engine/job.js';
import { JobRegistry } from '../../electron/engine/job-registry.js';
import { JobStore } from '../../electron/engine/job-store.js';
import { TaskLifeCycle } from '../../electron/engine/life-cycle.js';
import { Scheduler } from '../../electron/engine/scheduler.js';
import { StoreWriter } from '../../electron/engine/store-writer.js';
import { Task } from '../../electron/engine/task.js';
import { IllegalTransitionError, JOB_TRANSITIONS, TASK_TRANSITIONS, assertTaskTransition } from '../../electron/engine/transitions.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';

/** The tables between the markers of docs/architecture.md, as from-state -> to-states. */
function documentedTables(): Array<Record<string, string[]>> {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const section = /<!-- transitions:begin -->([\s\S]*?)<!-- transitions:end -->/.exec(doc)?.[1];
  if (!section) throw new Error('docs/architecture.md has no transitions section');
  return section
    .trim()
    .split(/\n\s*\n/)
    .map((table) => {
      const rows = table.split('\n').slice(2);
      return Object.fromEntries(
        rows.map((row) => {
          const [from = '', to = ''] = row.split('|').slice(1, 3).map((cell) => cell.trim());
          return [from.replaceAll('`', ''), to ? to.split(',').map((s) => s.trim().replaceAll('`', '')) : []];
        }),
      );
    });
}

function lifeCycle() {
  const store = new JobStore(tempDir());
  onCleanup(() => store.close());
  const writer = new StoreWriter(store, 1000);
  const events = new EventEmitter<EngineEvents>();
  const registry = new JobRegistry(store, writer, 100);
  const parts = { writer, events, scheduler: new Scheduler(), registry, ledger: new CrashLedger(store.db, 1000), cancelGraceMs: 0, closing: () => false };
  return new TaskLifeCycle(parts);
}

describe('the state transition table', () => {
  it('is the one docs/architecture.md shows', () => {
    const [tasks, jobs] = documentedTables();
    expect(tasks).toEqual(TASK_TRANSITIONS);
    expect(jobs).toEqual(JOB_TRANSITIONS);
  });

  it('covers every state; an ended task only ever goes back to the queue (a retry), a succeeded one never', () => {
    expect(Object.keys(TASK_TRANSITIONS).sort()).toEqual([...TASK_STATES].sort());
    expect(Object.keys(JOB_TRANSITIONS).sort()).toEqual([...JOB_STATES].sort());
    for (const state of TASK_STATES) if (isTerminal(state)) expect(TASK_TRANSITIONS[state].every((to) => to === 'queued')).toBe(true);
    expect(TASK_TRANSITIONS.succeeded).toEqual([]);
  });

  it('refuses an illegal transition loudly, and changes nothing', () => {
    expect(() => assertTaskTransition('j-1:a', 'succeeded', 'running')).toThrow(new IllegalTransitionError('task j-1:a: succeeded -> running is not a legal transition'));
    const cycle = lifeCycle();
    const job = new Job('j-1', 'test', null, 'continue', '/', 0);
    const task = new Task(job, 'j-1:a', 'a', 0, 'demo.echo', 'pool', {}, 0, null, 0, 0, [], 0);
    job.tasks.push(task);
    cycle.adopt(job);
    cycle.transition(task, 'running');
    cycle.transition(task, 'succeeded');
    expect(() => cycle.transition(task, 'queued')).toThrow(IllegalTransitionError);
    expect(() => cycle.transition(task, 'cancelled')).toThrow('task j-1:a: succeeded -> cancelled is not a legal transition');
    expect(task.state).toBe('succeeded');
    expect(cycle.counts).toMatchObject({ succeeded: 1, queued: 0, running: 0 });
    expect(job.unfinished).toBe(0);
    expect(() => cycle.transitionJob(job, 'interrupted')).not.toThrow();
    expect(() => cycle.transitionJob(job, 'succeeded')).toThrow('job j-1: interrupted -> succeeded is not a legal transition');
  });
});
