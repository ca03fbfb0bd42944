import { describe, expect, it, vi } from 'vitest';
import { DashboardStore, LOG_LINES_PER_TASK, TASKS_WITH_LOGS } from '../../renderer/src/store/dashboard-store';
import { attempt, counts, delta, job, manualFrames, sample, snapshot, T0, task } from './records';

function makeStore(options: { telemetryCapacity?: number; heap?: number | null } = {}) {
  const frames = manualFrames();
  const onGap = vi.fn();
  const store = new DashboardStore({
    onGap,
    schedule: frames.schedule,
    telemetryCapacity: options.telemetryCapacity,
    readRendererMemory: () => options.heap ?? null,
  });
  return { store, frames, onGap };
}

describe('DashboardStore', () => {
  it('starts from a snapshot: tasks by key in order, jobs, attempts as bars, telemetry, counts', () => {
    const { store, frames } = makeStore();
    store.apply(
      snapshot(7, {
        jobs: [job({ taskCount: 3 })],
        tasks: [
          task('a', { state: 'succeeded', attempts: 1, startedAt: T0 + 10, finishedAt: T0 + 50, worker: '1' }),
          task('b', { state: 'running', attempts: 1, startedAt: T0 + 20, worker: '2' }),
          task('c'),
        ],
        attempts: { 'j1:a': [attempt(1, T0 + 10, T0 + 50, '1')], 'j1:b': [attempt(1, T0 + 20, null, '2')] },
        telemetry: [sample(T0), sample(T0 + 500)],
        counts: counts({ succeeded: 1, running: 1, queued: 1 }),
      }),
    );
    expect(store.taskOrder).toEqual(['j1:a', 'j1:b', 'j1:c']);
    expect(store.tasks.get('j1:b')?.state).toBe('running');
    expect(store.jobs.get('j1')?.name).toBe('nightly');
    expect(store.counts).toMatchObject({ succeeded: 1, running: 1, queued: 1, failed: 0 });
    expect(store.jobCounts.get('j1')).toMatchObject({ succeeded: 1, running: 1, queued: 1 });
    expect(store.telemetry.length).toBe(2);
    expect(store.timeline.size).toBe(2);
    expect(store.timeline.lanes.map((lane) => lane.id)).toEqual(['loop', '1', '2']);
    expect(store.lastSeq).toBe(7);
    expect(store.stream).toBe('live');
    expect(store.version).toBe(0);
    expect(frames.flush()).toBe(1);
    expect(store.version).toBe(1);
  });

  it('applies deltas in sequence: updates records, appends new tasks, moves job counts', () => {
    const { store, frames } = makeStore();
    store.apply(snapshot(1, { jobs: [job({ taskCount: 2 })], tasks: [task('a')] }));
    store.apply(
      delta(2, {
        tasks: [task('a', { state: 'running', attempts: 1, startedAt: T0 + 5, worker: '1' }), task('b')],
        attempts: { 'j1:a': [attempt(1, T0 + 5, null, '1')] },
        counts: counts({ running: 1, queued: 1 }),
      }),
    );
    store.apply(
      delta(3, {
        tasks: [task('a', { state: 'succeeded', attempts: 1, startedAt: T0 + 5, finishedAt: T0 + 40, worker: '1', result: 42 })],
        attempts: { 'j1:a': [attempt(1, T0 + 5, T0 + 40, '1', 'succeeded')] },
        counts: counts({ succeeded: 1, queued: 1 }),
      }),
    );
    expect(store.taskOrder).toEqual(['j1:a', 'j1:b']);
    expect(store.tasks.get('j1:a')).toMatchObject({ state: 'succeeded', result: 42 });
    expect(store.jobCounts.get('j1')).toMatchObject({ succeeded: 1, queued: 1, running: 0 });
    expect(store.counts.succeeded).toBe(1);
    const [bar] = store.timeline.barsOf('j1:a');
    expect(bar).toMatchObject({ laneId: '1', start: T0 + 5, end: T0 + 40, state: 'succeeded', waitStart: T0 });
    expect(store.lastSeq).toBe(3);
    frames.flush();
  });

  it('tells its readers once per frame however many messages arrived', () => {
    const { store, frames } = makeStore();
    const listener = vi.fn();
    store.subscribe(listener);
    store.apply(snapshot(0, { tasks: [task('a')] }));
    for (let seq = 1; seq <= 50; seq++) store.apply(delta(seq, { tasks: [task('a', { progress: seq / 50 })] }));
    expect(listener).not.toHaveBeenCalled();
    expect(frames.flush()).toBe(1);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.version).toBe(1);
    expect(store.tasks.get('j1:a')?.progress).toBe(1);
    expect(frames.flush()).toBe(0);
  });

  it('asks for a resync on a gap in seq and ignores deltas until the snapshot comes', () => {
    const { store, frames, onGap } = makeStore();
    store.apply(snapshot(10, { tasks: [task('a')] }));
    store.apply(delta(11, { tasks: [task('a', { state: 'running' })] }));
    store.apply(delta(13, { tasks: [task('a', { state: 'failed' })] }));
    expect(onGap).toHaveBeenCalledTimes(1);
    expect(store.stream).toBe('resyncing');
    expect(store.gaps).toBe(1);
    store.apply(delta(14, { tasks: [task('zzz')] }));
    expect(store.tasks.get('j1:a')?.state).toBe('running');
    expect(store.tasks.has('j1:zzz')).toBe(false);
    expect(onGap).toHaveBeenCalledTimes(1);

    store.apply(snapshot(20, { tasks: [task('a', { state: 'failed' }), task('zzz')] }));
    expect(store.stream).toBe('live');
    store.apply(delta(21, { tasks: [task('a', { state: 'queued' })] }));
    expect(store.tasks.get('j1:a')?.state).toBe('queued');
    expect(store.taskOrder).toEqual(['j1:a', 'j1:zzz']);
    frames.flush();
  });

  it('ignores a delta it already applied and deltas before the first snapshot', () => {
    const { store, onGap } = makeStore();
    store.apply(delta(1, { tasks: [task('early')] }));
    expect(store.tasks.size).toBe(0);
    store.apply(snapshot(5, { tasks: [task('a')] }));
    store.apply(delta(6, { tasks: [task('a', { state: 'running' })] }));
    store.apply(delta(6, { tasks: [task('a', { state: 'failed' })] }));
    store.apply(delta(4, { tasks: [task('a', { state: 'failed' })] }));
    expect(store.tasks.get('j1:a')?.state).toBe('running');
    expect(onGap).not.toHaveBeenCalled();
  });

  it('takes the next snapshot as a fresh start after the connection dropped', () => {
    const { store } = makeStore();
    store.apply(snapshot(5, { tasks: [task('a')] }));
    store.disconnected();
    expect(store.stream).toBe('connecting');
    store.apply(delta(6, { tasks: [task('b')] }));
    expect(store.tasks.has('j1:b')).toBe(false);
    store.apply(snapshot(0, { tasks: [task('c')] }));
    store.apply(delta(1, { tasks: [task('d')] }));
    expect(store.taskOrder).toEqual(['j1:c', 'j1:d']);
  });

  it('recolours a live bar when its task starts cancelling, and ends it cancelled', () => {
    const { store } = makeStore();
    store.apply(
      snapshot(0, {
        tasks: [task('a', { state: 'running', attempts: 1, startedAt: T0 + 5, worker: '1' })],
        attempts: { 'j1:a': [attempt(1, T0 + 5, null, '1')] },
      }),
    );
    store.apply(delta(1, { tasks: [task('a', { state: 'cancelling', attempts: 1, startedAt: T0 + 5, worker: '1' })] }));
    expect(store.timeline.barsOf('j1:a')[0]).toMatchObject({ state: 'cancelling', end: null });
    store.apply(
      delta(2, {
        tasks: [task('a', { state: 'cancelled', attempts: 1, startedAt: T0 + 5, finishedAt: T0 + 900, worker: '1' })],
        attempts: { 'j1:a': [attempt(1, T0 + 5, T0 + 900, '1', 'cancelled')] },
      }),
    );
    expect(store.timeline.barsOf('j1:a')[0]).toMatchObject({ state: 'cancelled', end: T0 + 900 });
  });

  it('keeps a bounded number of log lines per task and of tasks with logs', () => {
    const { store } = makeStore();
    store.apply(snapshot(0));
    const lines = Array.from({ length: LOG_LINES_PER_TASK + 50 }, (_, i) => ({ taskKey: 'j1:a', at: T0 + i, level: 'info' as const, message: `line ${i}` }));
    store.apply(delta(1, { logs: lines }));
    const kept = store.logs.get('j1:a')!;
    expect(kept).toHaveLength(LOG_LINES_PER_TASK);
    expect(kept[0]!.message).toBe('line 50');
    expect(kept.at(-1)!.message).toBe(`line ${LOG_LINES_PER_TASK + 49}`);

    const many = Array.from({ length: TASKS_WITH_LOGS + 10 }, (_, i) => ({ taskKey: `j1:t${i}`, at: T0, level: 'warn' as const, message: 'x' }));
    store.apply(delta(2, { logs: many }));
    expect(store.logs.size).toBe(TASKS_WITH_LOGS);
    expect(store.logs.has('j1:a')).toBe(false);
    expect(store.logs.has(`j1:t${TASKS_WITH_LOGS + 9}`)).toBe(true);
  });

  it('keeps telemetry in a ring, with the renderer heap read at each live sample', () => {
    const { store } = makeStore({ telemetryCapacity: 6, heap: 33e6 });
    store.apply(snapshot(0, { telemetry: [sample(T0), sample(T0 + 500)] }));
    store.apply(delta(1, { telemetry: [1, 2, 3, 4, 5].map((i) => sample(T0 + 500 + i * 500)) }));
    expect(store.telemetry.length).toBe(6);
    expect(store.telemetry.at(0)!.at).toBe(T0 + 500);
    expect(store.telemetry.last()!.at).toBe(T0 + 3000);
    // The snapshot's samples predate this page: its heap then is unknown.
    expect(store.rendererMemory.toArray()).toEqual([null, 33e6, 33e6, 33e6, 33e6, 33e6]);
  });

  it('retires a thread lane when telemetry stops listing it (a hard cancel replaced the thread)', () => {
    const { store } = makeStore();
    store.apply(snapshot(0, { telemetry: [sample(T0)] }));
    const replaced = sample(T0 + 500, { workers: [{ threadId: 2, heapUsed: 1, utilization: 0 }, { threadId: 3, heapUsed: null, utilization: 0 }] });
    store.apply(delta(1, { telemetry: [replaced] }));
    const lanes = new Map(store.timeline.lanes.map((lane) => [lane.id, lane]));
    expect(lanes.get('1')?.retiredAt).toBe(T0 + 500);
    expect(lanes.get('2')?.retiredAt).toBeNull();
    expect(lanes.get('3')?.firstAt).toBe(T0 + 500);
  });

  it('drops a bar whose attempt the engine withdrew (announced in a batch, never run)', () => {
    const { store } = makeStore();
    store.apply(snapshot(0, { tasks: [task('a')] }));
    store.apply(delta(1, { tasks: [task('a', { state: 'running', attempts: 1 })], attempts: { 'j1:a': [attempt(1, T0 + 5, null, '1')] } }));
    expect(store.timeline.size).toBe(1);
    store.apply(delta(2, { tasks: [task('a', { state: 'queued', attempts: 0 })], attempts: { 'j1:a': [] } }));
    expect(store.timeline.size).toBe(0);
    expect(store.timeline.lane('1')?.live.size).toBe(0);
  });

  it('holds 100,000 tasks from one snapshot, with their bars indexed', () => {
    const { store } = makeStore();
    const n = 100_000;
    const tasks = [];
    const attempts: Record<string, ReturnType<typeof attempt>[]> = {};
    for (let i = 0; i < n; i++) {
      const start = T0 + i * 3;
      tasks.push(task(`t${i}`, { state: 'succeeded', attempts: 1, startedAt: start, finishedAt: start + 2, worker: String(1 + (i % 2)) }));
      attempts[`j1:t${i}`] = [attempt(1, start, start + 2, String(1 + (i % 2)))];
    }
    store.apply(snapshot(0, { jobs: [job({ taskCount: n })], tasks, attempts, counts: counts({ succeeded: n }) }));
    expect(store.tasks.size).toBe(n);
    expect(store.timeline.size).toBe(n);
    expect(store.timeline.lane('1')!.bars).toHaveLength(n / 2);
    expect(store.jobCounts.get('j1')!.succeeded).toBe(n);
  });
});
