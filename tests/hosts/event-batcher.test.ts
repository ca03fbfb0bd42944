import { describe, expect, it } from 'vitest';
import type { ApiEvent, DeltaMessage, SnapshotMessage } from '../../contract/api.js';
import type { TaskRecord } from '../../contract/records.js';
import { DELTA_INTERVAL_MS, DELTA_TASKS, EventBatcher } from '../../electron/hosts/event-batcher.js';
import { jobSpec, makeEngine, onCleanup, waitFor } from '../support/engine-fixture.js';

interface Received {
  event: ApiEvent;
  at: number;
}

function collect(batcher: EventBatcher, options: { ready?: () => boolean } = {}) {
  const received: Received[] = [];
  const subscription = batcher.subscribe({ send: (event) => received.push({ event, at: Date.now() }), ...options });
  onCleanup(() => subscription.close());
  return { received, subscription };
}

/** Applies a stream to a normalized copy of the tasks, the way a renderer's store does. */
function applyStream(events: ApiEvent[]): Map<string, TaskRecord> {
  const tasks = new Map<string, TaskRecord>();
  let seq = -1;
  for (const event of events) {
    if (event.type === 'snapshot') {
      tasks.clear();
      for (const task of event.tasks) tasks.set(task.key, task);
    } else {
      expect(event.seq).toBe(seq + 1);
      for (const task of event.tasks) tasks.set(task.key, task);
    }
    seq = event.seq;
  }
  return tasks;
}

describe('event batcher', () => {
  it('keeps to one delta per 50 ms under thousands of task transitions a second, and loses no state', async () => {
    const engine = makeEngine({ poolSize: 2, telemetryIntervalMs: 100 });
    const batcher = new EventBatcher(engine);
    onCleanup(() => batcher.close());
    const { received } = collect(batcher);
    let transitions = 0;
    engine.on('task', () => transitions++);

    const count = 20_000;
    const tasks = Array.from({ length: count }, (_, i) => ({ id: `e${i}`, kind: 'demo.echo', value: i }));
    const started = Date.now();
    const job = await engine.submitJob(jobSpec(tasks), '/');
    await engine.waitForJob(job.id);
    const ranMs = Date.now() - started;
    // The last changes go out a few intervals after the job ends (a delta carries a bounded number of tasks).
    await waitFor(() => {
      const shown = applyStream(received.map((r) => r.event));
      return shown.size === count && [...shown.values()].every((task) => task.state === 'succeeded');
    });

    const deltas = received.filter((r) => r.event.type === 'delta');
    expect(deltas.length).toBeGreaterThan(1);
    const elapsedMs = deltas.at(-1)!.at - deltas[0]!.at;
    const perSecond = (deltas.length - 1) / (elapsedMs / 1000);
    console.log(
      `${transitions} task transitions in ${ranMs} ms (${Math.round((transitions / ranMs) * 1000)}/s) -> ` +
        `${deltas.length} deltas over ${elapsedMs} ms (${perSecond.toFixed(1)}/s)`,
    );
    // Counted, not timed: however fast or slow the machine, consecutive deltas are >= 50 ms apart.
    for (let i = 1; i < deltas.length; i++) expect(deltas[i]!.at - deltas[i - 1]!.at).toBeGreaterThanOrEqual(DELTA_INTERVAL_MS);
    expect(deltas.length).toBeLessThanOrEqual(Math.floor(elapsedMs / DELTA_INTERVAL_MS) + 1);
    expect(perSecond).toBeLessThanOrEqual(20);
    expect(transitions).toBeGreaterThan(2 * count);
    expect(deltas.length * 20).toBeLessThan(transitions);
    // A burst (20,000 tasks going live) is spread over deltas of bounded size.
    const sizes = deltas.map((r) => (r.event as DeltaMessage).tasks.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(DELTA_TASKS.max);
    expect(sizes.filter((n) => n >= DELTA_TASKS.min).length).toBeGreaterThan(1);
    expect(received.some((r) => r.event.type === 'delta' && r.event.jobs.some((j) => j.id === job.id && j.state === 'succeeded'))).toBe(true);

    // Snapshot + deltas rebuild exactly what the engine holds.
    const rebuilt = applyStream(received.map((r) => r.event));
    expect(rebuilt.size).toBe(count);
    // Everything but results, which views fetch per task.
    for (const task of engine.tasksOfJob(job.id)) expect(rebuilt.get(task.key)).toEqual({ ...task, result: null });
  });

  it('starts with a snapshot, numbers deltas one by one, and resyncs with a fresh snapshot', async () => {
    const engine = makeEngine();
    const first = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo', value: 1 }]), '/');
    await engine.waitForJob(first.id);
    const batcher = new EventBatcher(engine);
    onCleanup(() => batcher.close());
    const { received, subscription } = collect(batcher);

    const snapshot = received[0]!.event as SnapshotMessage;
    expect(snapshot).toMatchObject({ type: 'snapshot', seq: 1 });
    expect(snapshot.tasks.map((t) => t.key)).toEqual([`${first.id}:a`]);
    expect(snapshot.attempts[`${first.id}:a`]).toEqual([expect.objectContaining({ attempt: 1, state: 'succeeded' })]);

    const second = await engine.submitJob(jobSpec([{ id: 'b', kind: 'demo.cpu', ms: 30 }, { id: 'c', kind: 'demo.sleep', ms: 30 }]), '/');
    await engine.waitForJob(second.id);
    await waitFor(() => (received.at(-1)?.event as DeltaMessage).jobs?.some((j) => j.id === second.id && j.state === 'succeeded'));
    const deltas = received.slice(1).map((r) => r.event as DeltaMessage);
    deltas.forEach((delta, i) => expect(delta).toMatchObject({ type: 'delta', seq: snapshot.seq + 1 + i }));
    const lastOf = (key: string) => deltas.filter((d) => d.tasks.some((t) => t.key === key)).at(-1)!;
    expect(lastOf(`${second.id}:b`).attempts[`${second.id}:b`]).toEqual([expect.objectContaining({ state: 'succeeded', worker: expect.stringMatching(/^w\d+$/) })]);
    expect(lastOf(`${second.id}:c`).attempts[`${second.id}:c`]).toEqual([expect.objectContaining({ state: 'succeeded', worker: 'loop' })]);

    // A client that lost a delta asks again: the snapshot takes the next number, deltas follow it.
    const before = received.length;
    const lastSeq = received.at(-1)!.event.seq;
    subscription.resync();
    const again = received[before]!.event as SnapshotMessage;
    expect(again).toMatchObject({ type: 'snapshot', seq: lastSeq + 1 });
    expect(again.tasks).toHaveLength(3);
    expect(again.jobs.map((j) => j.state)).toEqual(['succeeded', 'succeeded']);
    const third = await engine.submitJob(jobSpec([{ id: 'd', kind: 'demo.echo' }]), '/');
    await engine.waitForJob(third.id);
    await waitFor(() => received.length > before + 1 && received.at(-1)!.event.type === 'delta' && (received.at(-1)!.event as DeltaMessage).jobs.some((j) => j.id === third.id && j.state === 'succeeded'));
    expect(received[before + 1]!.event.seq).toBe(again.seq + 1);
  });

  it('carries log lines and telemetry samples in deltas', async () => {
    const engine = makeEngine({ telemetryIntervalMs: 50 });
    const batcher = new EventBatcher(engine);
    onCleanup(() => batcher.close());
    const { received } = collect(batcher);
    const job = await engine.submitJob(jobSpec([{ id: 'f', kind: 'demo.fail', message: 'planned' }]), '/');
    await engine.waitForJob(job.id);
    const deltas = () => received.map((r) => r.event).filter((e): e is DeltaMessage => e.type === 'delta');
    const sample = await waitFor(() => deltas().flatMap((d) => d.telemetry).at(0));
    expect(sample.memory.rss).toBeGreaterThan(0);
    const failed = await waitFor(() => deltas().flatMap((d) => d.tasks).find((t) => t.key === `${job.id}:f` && t.state === 'failed'));
    expect(failed.error).toMatchObject({ message: 'planned' });
    const counts = deltas().at(-1)!.counts;
    expect(counts.failed).toBe(1);
  });

  it('holds deltas while the transport is congested and then sends what changed in one', async () => {
    const engine = makeEngine();
    const batcher = new EventBatcher(engine);
    onCleanup(() => batcher.close());
    let ready = false;
    const { received } = collect(batcher, { ready: () => ready });
    expect(received).toHaveLength(1); // the snapshot is not held back
    const job = await engine.submitJob(jobSpec(Array.from({ length: 50 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo' }))), '/');
    await engine.waitForJob(job.id);
    await new Promise((resolve) => setTimeout(resolve, 4 * DELTA_INTERVAL_MS));
    expect(received).toHaveLength(1);
    ready = true;
    await waitFor(() => received.length === 2);
    const delta = received[1]!.event as DeltaMessage;
    expect(delta.seq).toBe(2);
    expect(delta.tasks).toHaveLength(50);
    expect(delta.tasks.every((t) => t.state === 'succeeded')).toBe(true);
    expect(delta.jobs).toEqual([expect.objectContaining({ id: job.id, state: 'succeeded' })]);
  });

  it('stops listening to the engine when the last subscriber leaves', () => {
    const engine = makeEngine();
    const batcher = new EventBatcher(engine);
    const base = engine.listenerCount('task');
    const a = batcher.subscribe({ send: () => {} });
    const b = batcher.subscribe({ send: () => {} });
    expect(engine.listenerCount('task')).toBe(base + 1);
    a.close();
    expect(engine.listenerCount('task')).toBe(base + 1);
    b.close();
    expect(engine.listenerCount('task')).toBe(base);
    expect(batcher.subscriberCount).toBe(0);
  });
});
