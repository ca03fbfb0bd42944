import { describe, expect, it } from 'vitest';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { loopDelayMs, notRunning } from '../../electron/engine/telemetry.js';
import { ThreadBusyMeter } from '../../electron/engine/thread-busy.js';
import { jobSpec, makeEngine, waitFor } from '../support/engine-fixture.js';
import { heldTask } from '../support/held-task.js';

describe('events and telemetry', () => {
  it('samples memory, loop delay, each pool thread, queue depth and throughput', async () => {
    const engine = makeEngine({ poolSize: 2, telemetryIntervalMs: 50 });
    const samples: TelemetrySample[] = [];
    engine.on('telemetry', (s) => samples.push(s));
    // The first two hold both threads until samples have seen the pool busy with work waiting.
    const held = [heldTask('h0'), heldTask('h1')];
    const cpu = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, kind: 'demo.cpu', ms: 60 }));
    const job = await engine.submitJob(jobSpec([...held.map((h) => h.task), ...cpu]), '/');
    await waitFor(() => samples.some((s) => s.running === 2 && s.queued > 0), 10_000, 'a sample of a busy pool');
    await waitFor(() => samples.some((s) => s.workers.some((w) => w.utilization > 0.5)), 10_000, 'a sample of a busy thread');
    for (const h of held) h.release();
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    await waitFor(() => samples.some((s) => s.workers.filter((w) => w.heapUsed !== null).length === 2), 10_000, 'heap reports from both threads');
    const last = samples.at(-1)!;
    expect(last.memory.rss).toBeGreaterThan(last.memory.heapUsed);
    expect(last.workers).toHaveLength(2);
    expect(samples.some((s) => s.poolUtilization > 0)).toBe(true);
    expect(samples.some((s) => s.workers.some((w) => w.utilization > 0.5))).toBe(true);
    expect(samples.some((s) => s.completionsPerSecond > 0)).toBe(true);
    expect(last.loop.delayP99Ms).toBeGreaterThanOrEqual(last.loop.delayP50Ms);
    expect(engine.telemetryHistory().length).toBe(samples.length);
  });

  it('counts as loop delay only what comes on top of the histogram timer\'s own interval', async () => {
    expect(loopDelayMs(10.25e6, 10)).toBeCloseTo(0.25);
    expect(loopDelayMs(9.9e6, 10)).toBe(0);
    expect(loopDelayMs(310e6, 10)).toBe(300);
    // A loop held for 300 ms shows it (less what the histogram timer had yet to wait).
    const engine = makeEngine({ telemetryIntervalMs: 60_000 });
    engine.sampleTelemetry();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // held on purpose
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(engine.sampleTelemetry().loop.delayMaxMs).toBeGreaterThanOrEqual(290);
  });

  it('still shows a loop held up for more than a second, which a stopped process is not', async () => {
    // A gap of the histogram that the loop spent busy is the loop held up; one it spent waiting
    // for its next event (its timer long due) is the process not running.
    expect(notRunning(3000, 2)).toBe(true);
    expect(notRunning(3000, 3000)).toBe(false);
    expect(notRunning(900, 0)).toBe(false);
    const engine = makeEngine({ telemetryIntervalMs: 60_000 });
    engine.sampleTelemetry();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const until = performance.now() + 1200;
    while (performance.now() < until) {
      // held on purpose
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    const { loop } = engine.sampleTelemetry();
    expect(loop.delayMaxMs).toBeGreaterThanOrEqual(1150);
    expect(loop.delayP99Ms).toBeGreaterThanOrEqual(1150);
  });

  it('keeps a bounded telemetry history', async () => {
    const engine = makeEngine({ telemetryIntervalMs: 10, telemetryHistory: 5 });
    await waitFor(() => engine.telemetryHistory().length === 5);
    for (let i = 0; i < 10; i++) engine.sampleTelemetry();
    expect(engine.telemetryHistory()).toHaveLength(5);
  });

  it('reports progress and logs from a running task, and a snapshot agrees with the events', async () => {
    const engine = makeEngine();
    const progress: number[] = [];
    engine.on('task', (t) => {
      if (t.state === 'running' && t.progress !== null) progress.push(t.progress);
    });
    const job = await engine.submitJob(jobSpec([{ id: 'p', kind: 'demo.cpu', ms: 400 }, { id: 'q', kind: 'demo.echo', value: 'x' }]), '/');
    await engine.waitForJob(job.id);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    const snap = engine.snapshot();
    expect(snap.jobs.map((j) => [j.id, j.state])).toEqual([[job.id, 'succeeded']]);
    expect(snap.tasks.map((t) => t.state)).toEqual(['succeeded', 'succeeded']);
    expect(snap.counts.succeeded).toBe(2);
    expect(snap.attempts[`${job.id}:p`]).toHaveLength(1);
  });
});

describe('pool utilization', () => {
  it('reads an idle pool as idle, from the first sample on, and a thread held by a task as busy', async () => {
    const engine = makeEngine({ poolSize: 2, telemetryIntervalMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const first = engine.sampleTelemetry();
    expect(first.workers).toHaveLength(2);
    expect(first.workers.map((w) => w.utilization)).toEqual([0, 0]);
    expect(first.poolUtilization).toBe(0);

    const held = heldTask('b');
    const job = await engine.submitJob(jobSpec([held.task]), '/');
    await waitFor(() => engine.task(`${job.id}:b`)?.state === 'running');
    engine.sampleTelemetry();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The whole time since the last sample, one thread ran the task and the other had nothing.
    const busy = engine.sampleTelemetry().workers.map((w) => w.utilization).sort();
    expect(busy[0]).toBe(0);
    expect(busy[1]).toBeGreaterThan(0.9);
    held.release();
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');

    engine.sampleTelemetry();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(engine.sampleTelemetry().workers.map((w) => w.utilization)).toEqual([0, 0]);
  });
});

describe('ThreadBusyMeter', () => {
  it('counts each batch’s time on its thread within the reading’s span, wherever its start and end were reported', () => {
    const meter = new ThreadBusyMeter(1000);
    const [a, b, c, d] = [{}, {}, {}, {}];
    meter.started(a, 1, 1100);
    meter.finished(a, 1, 1100, 1300); // 200 ms on thread 1
    meter.finished(b, 2, 1200, 1250); // its "started" comes late and must not open it again
    meter.started(b, 2, 1200);
    meter.started(c, 2, 1900); // still running at the reading
    expect(meter.read([1, 2, 3], 2000)).toEqual(new Map([[1, 0.2], [2, 0.15], [3, 0]]));
    // The running batch counts on from the reading; its end counts only what came after it.
    meter.finished(c, 2, 1900, 2500);
    meter.started(d, 1, 2600); // its thread died at 2800
    meter.finished(d, null, null, 2800);
    expect(meter.read([1, 2], 3000)).toEqual(new Map([[1, 0.2], [2, 0.5]]));
    expect(meter.read([1, 2], 3000)).toEqual(new Map([[1, 0], [2, 0]]));
  });
});
