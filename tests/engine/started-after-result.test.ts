/**
 * A pool thread says a batch started on the engine's event channel and gives its result back on
 * piscina's port: the two arrive in either order. A start that comes after its batch has ended
 * must not touch the tasks that have since taken that batch's task slots. One that did showed a
 * task waiting behind a busy thread as running, and a hard cancel of it then ended no thread:
 * the task had not begun, so it was taken back instead.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { TaskState } from '../../contract/task-states.js';
import { heldTask } from '../support/held-task.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';

describe('a batch start that arrives after the batch ended', () => {
  it('leaves the task now in its slot as it was: queued, not begun, until a thread takes it', async () => {
    const engine = makeEngine({ poolSize: 1 });
    // The channel's name is in every pool thread's data: a script reads it out.
    const probe = join(tempDir(), 'channel-name.mjs');
    writeFileSync(probe, "import { workerData } from 'node:worker_threads';\nexport default () => workerData.channel;\n");
    const named = await engine.submitJob(jobSpec([{ id: 'name', kind: 'script', module: probe }]), '/');
    await engine.waitForJob(named.id);
    const channelName = engine.task(`${named.id}:name`)!.result as string;

    const starts: unknown[] = [];
    const channel = new BroadcastChannel(channelName);
    channel.onmessage = (event) => {
      const data = (event as { data: { type?: string } }).data;
      if (data?.type === 'started') starts.push(data);
    };
    try {
      // Two short tasks on one thread: their slots are free again once they end.
      const earlier = await engine.submitJob(jobSpec([{ id: 'a1', kind: 'demo.echo' }, { id: 'a2', kind: 'demo.echo' }]), '/');
      await engine.waitForJob(earlier.id);
      await waitFor(() => starts.length >= 2, 20_000, 'the start messages of the earlier tasks');
      const ended = [...starts];

      // One task holds the only thread; the next is built into a batch (it has a slot) and waits.
      const held = heldTask('held');
      const job = await engine.submitJob(jobSpec([{ ...held.task, priority: 1 }, { id: 'waiting', kind: 'demo.echo' }]), '/');
      await waitFor(() => engine.task(`${job.id}:held`)?.state === 'running', 20_000, 'the held task to run');
      const statesOfWaiting: TaskState[] = [];
      engine.on('task', (task) => {
        if (task.key === `${job.id}:waiting`) statesOfWaiting.push(task.state);
      });

      // The earlier batches' starts, arriving late: after their results, as they can.
      for (const start of ended) channel.postMessage(start);
      // Nothing may come of them; give the engine's channel time to deliver them all.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(engine.task(`${job.id}:waiting`)).toMatchObject({ state: 'queued', attempts: 0, worker: null });
      expect(statesOfWaiting).toEqual([]);

      held.release();
      await engine.waitForJob(job.id);
      expect(engine.task(`${job.id}:waiting`)).toMatchObject({ state: 'succeeded', attempts: 1 });
      expect(statesOfWaiting).toEqual(['running', 'succeeded']);
    } finally {
      channel.close();
    }
  });
});
