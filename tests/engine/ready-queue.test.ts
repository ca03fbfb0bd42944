import { describe, expect, it } from 'vitest';
import { Job } from '../../electron/engine/job.js';
import { ReadyQueue } from '../../electron/engine/ready-queue.js';
import { Task } from '../../electron/engine/task.js';

describe('the ready queue', () => {
  it('gives back higher priority first and, among equals, the task admitted first, whatever the order tasks came in', () => {
    const job = new Job('j-1', 'test', null, 'continue', '/', 0);
    // A fixed shuffle (a linear congruential sequence), so a failure can be replayed.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const tasks = Array.from({ length: 2000 }, (_, seq) => new Task(job, `j-1:t${seq}`, `t${seq}`, seq, 'demo.echo', 'pool', {}, (next() % 7) - 3, null, 0, 0, [], 0));
    const queue = new ReadyQueue();
    // Every task once, out of order (769 and 2,000 have no common factor).
    const arrival = tasks.map((_, i, all) => all[(i * 769) % all.length]!);
    const expected = [...tasks].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    const popped: Task[] = [];
    // Pushes and pops interleaved, as tasks become ready while others are handed over.
    for (const [i, task] of arrival.entries()) {
      queue.push(task);
      if (i % 3 === 2) popped.push(queue.pop()!);
    }
    while (queue.size > 0) popped.push(queue.pop()!);
    expect(queue.pop()).toBeUndefined();
    expect(popped).toHaveLength(tasks.length);
    // Each pop is the best of what was in the queue then: checked against a sorted copy of it.
    const waiting = new Set<Task>();
    let p = 0;
    for (const [i, task] of arrival.entries()) {
      waiting.add(task);
      if (i % 3 === 2) {
        const best = [...waiting].sort((a, b) => b.priority - a.priority || a.seq - b.seq)[0]!;
        expect(popped[p++]).toBe(best);
        waiting.delete(best);
      }
    }
    expect(popped.slice(p)).toEqual([...waiting].sort((a, b) => b.priority - a.priority || a.seq - b.seq));
    expect(new Set(popped)).toEqual(new Set(expected));
  });
});
