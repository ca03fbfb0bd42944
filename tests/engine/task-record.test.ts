import { describe, expect, it } from 'vitest';
import { Job } from '../../electron/engine/job.js';
import { NO_DEPENDENCIES, Task } from '../../electron/engine/task.js';

function task(job: Job, id: string, dependsOn: string[] = [], queuedAt = job.createdAt): Task {
  return new Task(job, `${job.id}:${id}`, id, 0, 'demo.echo', 'pool', {}, 0, null, 0, 0, dependsOn, queuedAt);
}

describe('a task held by the engine', () => {
  it("reads its job's creation as its queue time until it is queued again, and records the time it was given", () => {
    const job = new Job('j-1', 'test', null, 'continue', '/', 1000);
    const plain = task(job, 'a');
    expect(plain.queuedAt).toBe(1000);
    expect(plain.toRecord().queuedAt).toBe(1000);
    plain.queuedAt = 2500.5;
    expect(plain.toRecord()).toMatchObject({ queuedAt: 2500.5, error: null, progressMessage: null });
    plain.queuedAt = 1000;
    expect(plain.queuedAt).toBe(1000);
    // Resumed from the store with a queue time of its own.
    expect(task(job, 'b', [], 1700).queuedAt).toBe(1700);
  });

  it('links its dependencies and dependents, and counts what it waits on, only when it has any', () => {
    const job = new Job('j-1', 'test', null, 'continue', '/', 1000);
    const first = task(job, 'first');
    const second = task(job, 'second', ['first']);
    expect(first.dependsOn).toBe(NO_DEPENDENCIES);
    expect(second.dependsOn).toEqual(['first']);
    expect(() => (first.dependsOn as string[]).push('x')).toThrow(TypeError);
    first.waitingOn = 0;
    expect(first.waitingOn).toBe(0);
    second.waitingOn = 1;
    first.addDependent(second);
    expect(first.dependents).toEqual([second]);
    expect(second.dependents).toEqual([]);
    expect(--second.waitingOn).toBe(0);
    expect(second.toRecord().dependsOn).toEqual(['first']);
  });

  it('makes its key from its job and id, and keeps one given otherwise (a remote stand-in keyed by the orchestrator)', () => {
    const job = new Job('j-1', 'test', null, 'continue', '/', 1000);
    expect(task(job, 'a').key).toBe('j-1:a');
    expect(task(job, 'a:b').key).toBe('j-1:a:b');
    const standIn = new Task(job, 'j-9:x', 'j-9:x', 0, 'demo.echo', 'pool', {}, 0, null, 0, 0, [], 1000);
    expect(standIn.key).toBe('j-9:x');
    expect(standIn.toRecord()).toMatchObject({ key: 'j-9:x', id: 'j-9:x', jobId: 'j-1' });
  });
});
