import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskAttempt } from '../../contract/records';
import { LOOP_LANE, MAX_LOOP_ROWS, TimelineIndex, type TimelineBar } from '../../renderer/src/timeline/timeline-index';
import { attempt, T0 } from './records';

const facts = (queuedAt = T0, state: 'running' | 'succeeded' = 'succeeded') => ({ queuedAt, state });

function collect(index: TimelineIndex, laneId: string, t0: number, t1: number): TimelineBar[] {
  const out: TimelineBar[] = [];
  index.forEachIn(index.lane(laneId)!, t0, t1, (bar) => out.push(bar));
  return out;
}

describe('TimelineIndex', () => {
  it('keeps each lane sorted by start, whatever order attempts arrive in', () => {
    const index = new TimelineIndex();
    const starts = [50, 10, 30, 20, 40, 10];
    starts.forEach((s, i) => index.setAttempts(`j:t${i}`, [attempt(1, T0 + s, T0 + s + 5, '1')], facts()));
    const lane = index.lane('1')!;
    expect(lane.bars.map((b) => b.start - T0)).toEqual([10, 10, 20, 30, 40, 50]);
    expect(index.size).toBe(6);
  });

  it('finds exactly the bars whose wait or run reaches into a window (property)', () => {
    const barArb = fc.record({
      wait: fc.integer({ min: 0, max: 500 }),
      start: fc.integer({ min: 0, max: 10_000 }),
      run: fc.integer({ min: 0, max: 800 }),
      live: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(barArb, { maxLength: 120 }), fc.integer({ min: -1000, max: 11_000 }), fc.integer({ min: 0, max: 3000 }), (bars, from, span) => {
        const index = new TimelineIndex();
        const now = T0 + 12_000;
        bars.forEach((b, i) => {
          const start = T0 + b.start;
          index.setAttempts(`j:t${i}`, [attempt(1, start, b.live ? null : start + b.run, '1')], { queuedAt: start - b.wait, state: b.live ? 'running' : 'succeeded' });
        });
        const t0 = T0 + from;
        const t1 = t0 + span;
        const expected = bars
          .map((b, i) => ({ key: `j:t${i}`, waitStart: T0 + b.start - b.wait, end: b.live ? now : T0 + b.start + b.run }))
          .filter((b) => b.waitStart <= t1 && b.end >= t0)
          .map((b) => b.key)
          .sort();
        const lane = index.lane('1');
        const found = lane ? collect(index, '1', t0, t1).map((b) => b.taskKey).sort() : [];
        expect(found).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('finds the few bars of a narrow window among 100,000, edges included', () => {
    const index = new TimelineIndex();
    for (let i = 0; i < 100_000; i++) index.setAttempts(`j:t${i}`, [attempt(1, T0 + i * 10, T0 + i * 10 + 8, '1')], facts(T0 + i * 10));
    const keys: string[] = [];
    const count = index.forEachIn(index.lane('1')!, T0 + 500_000, T0 + 500_100, (bar) => keys.push(bar.taskKey));
    expect(count).toBe(keys.length);
    expect(keys).toEqual(Array.from({ length: 11 }, (_, i) => `j:t${50_000 + i}`));
  });

  it('shows the queue wait before each attempt: queuedAt first, the previous end for a retry', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0 + 100, null, '1')], { queuedAt: T0, state: 'running' });
    expect(index.barsOf('j:a')[0]).toMatchObject({ waitStart: T0, state: 'running', end: null });
    const tries: TaskAttempt[] = [attempt(1, T0 + 100, T0 + 200, '1', 'failed'), attempt(2, T0 + 900, T0 + 950, '2', 'succeeded')];
    // After the retry the task's queuedAt is the failure time of attempt 1.
    index.setAttempts('j:a', tries, { queuedAt: T0 + 200, state: 'succeeded' });
    const [first, second] = index.barsOf('j:a');
    expect(first).toMatchObject({ waitStart: T0, state: 'failed', laneId: '1' });
    expect(second).toMatchObject({ waitStart: T0 + 200, state: 'succeeded', laneId: '2' });
    expect(index.lane('1')!.live.size).toBe(0);
  });

  it('moves a bar when the worker corrects its start or thread', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0 + 100, null, '1')], facts(T0, 'running'));
    index.setAttempts('j:b', [attempt(1, T0 + 150, T0 + 160, '1')], facts());
    index.setAttempts('j:a', [attempt(1, T0 + 170, T0 + 180, '2')], facts());
    expect(index.lane('1')!.bars.map((b) => b.taskKey)).toEqual(['j:b']);
    expect(index.lane('1')!.live.size).toBe(0);
    expect(index.lane('2')!.bars.map((b) => b.taskKey)).toEqual(['j:a']);
    expect(index.size).toBe(2);
  });

  it('gives no lane to an attempt whose worker names no thread: a remote machine alone, or an executor with no thread known', () => {
    const index = new TimelineIndex();
    // Refused by build-07 before a thread took it, then run by a thread of build-08.
    const tries: TaskAttempt[] = [attempt(1, T0 + 100, T0 + 100, 'build-07', 'failed'), attempt(2, T0 + 300, T0 + 400, 'build-08/2', 'succeeded')];
    index.setAttempts('j:a', tries, { queuedAt: T0 + 100, state: 'succeeded' });
    index.setAttempts('j:b', [attempt(1, T0 + 50, T0 + 60, 'remote', 'failed')], facts());
    index.setAttempts('j:c', [attempt(1, T0 + 70, T0 + 80, 'pool', 'cancelled')], facts());
    expect(index.lanes.map((lane) => lane.id)).toEqual(['loop', 'build-08/2']);
    expect(index.barsOf('j:a')).toEqual([expect.objectContaining({ attempt: 2, laneId: 'build-08/2', waitStart: T0 + 100 })]);
    expect(index.barsOf('j:b')).toEqual([]);
    expect(index.size).toBe(1);
    // A bar drawn for an attempt goes when the worker turns out to have been no thread.
    index.setAttempts('j:d', [attempt(1, T0 + 500, null, 'build-07/1')], facts(T0, 'running'));
    index.setAttempts('j:d', [attempt(1, T0 + 500, T0 + 500, 'build-07', 'failed')], facts());
    expect(index.barsOf('j:d')).toEqual([]);
    expect(index.lane('build-07/1')!.bars).toEqual([]);
    expect(index.size).toBe(1);
  });

  it('stacks concurrent loop tasks in rows, reusing a row once its bar ended', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0, null, 'loop')], facts(T0, 'running'));
    index.setAttempts('j:b', [attempt(1, T0 + 10, null, 'loop')], facts(T0, 'running'));
    index.setAttempts('j:c', [attempt(1, T0 + 20, null, 'loop')], facts(T0, 'running'));
    expect(['j:a', 'j:b', 'j:c'].map((k) => index.barsOf(k)[0]!.row)).toEqual([0, 1, 2]);
    index.setAttempts('j:b', [attempt(1, T0 + 10, T0 + 30, 'loop')], facts());
    index.setAttempts('j:d', [attempt(1, T0 + 40, null, 'loop')], facts(T0, 'running'));
    expect(index.barsOf('j:d')[0]!.row).toBe(1);
    for (let i = 0; i < 20; i++) index.setAttempts(`j:x${i}`, [attempt(1, T0 + 50 + i, null, 'loop')], facts(T0, 'running'));
    expect(index.lane(LOOP_LANE)!.rowCount).toBe(MAX_LOOP_ROWS);
    expect(Math.max(...index.lane(LOOP_LANE)!.bars.map((b) => b.row))).toBe(MAX_LOOP_ROWS - 1);
  });

  it('keeps pool threads on one row each: a thread runs one task at a time', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0, null, '7')], facts(T0, 'running'));
    index.setAttempts('j:b', [attempt(1, T0 + 1, null, '7')], facts(T0, 'running'));
    expect(index.lane('7')!.rowCount).toBe(1);
    expect(index.barsOf('j:b')[0]!.row).toBe(0);
  });

  it('shows a thread lane while its thread lives or its bars are in view; the loop lane always', () => {
    const index = new TimelineIndex();
    index.observeWorkers(T0, [1, 2]);
    index.setAttempts('j:a', [attempt(1, T0 + 100, T0 + 400, '1')], facts());
    index.observeWorkers(T0 + 1000, [2, 3]);
    const ids = (t0: number, t1: number) => index.lanesIn(t0, t1).map((lane) => lane.id);
    expect(ids(T0, T0 + 2000)).toEqual(['loop', '1', '2', '3']);
    expect(ids(T0 + 5000, T0 + 6000)).toEqual(['loop', '2', '3']);
    expect(ids(T0 - 5000, T0 - 4000)).toEqual(['loop']);
    expect(index.lane('1')!.retiredAt).toBe(T0 + 1000);
  });

  it('finds the bar under the pointer, with some slack around thin bars', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0 + 100, T0 + 101, '1')], facts());
    index.setAttempts('j:b', [attempt(1, T0 + 300, null, '1')], facts(T0, 'running'));
    expect(index.barAt('1', 0, T0 + 103, 5, T0 + 1000)?.taskKey).toBe('j:a');
    expect(index.barAt('1', 0, T0 + 200, 5, T0 + 1000)).toBeNull();
    expect(index.barAt('1', 0, T0 + 800, 5, T0 + 1000)?.taskKey).toBe('j:b');
    expect(index.barAt('1', 1, T0 + 103, 5, T0 + 1000)).toBeNull();
    expect(index.barAt('nope', 0, T0, 5, T0)).toBeNull();
  });

  it('forgets everything on clear, keeping the loop lane', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0, T0 + 1, '1')], facts());
    const before = index.version;
    index.clear();
    expect(index.size).toBe(0);
    expect(index.lanes.map((l) => l.id)).toEqual(['loop']);
    expect(index.version).toBeGreaterThan(before);
  });
});
