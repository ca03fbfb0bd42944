/**
 * The scheduler against a real engine and store, on a fake clock: time passes only when a test
 * says so, and a sleep (the wall clock moving while the monotonic one does not) can be staged.
 */
import { describe, expect, it } from 'vitest';
import type { ScheduleRun } from '../../contract/schedule.js';
import type { Engine } from '../../electron/engine/engine.js';
import type { SchedulerClock } from '../../electron/schedules/scheduler-clock.js';
import { createMetrics } from '../../electron/hosts/metrics.js';
import { Scheduler } from '../../electron/schedules/scheduler.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';

/** Time that moves only when told; timers are recorded, and the test ticks the scheduler itself. */
class FakeClock implements SchedulerClock {
  mono = 0;
  readonly timers = new Set<object>();
  constructor(public wall: number) {}
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return this.mono;
  }
  setTimer(): unknown {
    const timer = {};
    this.timers.add(timer);
    return timer;
  }
  clearTimer(timer: unknown): void {
    this.timers.delete(timer as object);
  }
  /** Real time passing: both clocks move. */
  pass(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }
  /** A sleep, or the clock being set: only the wall clock moves. */
  jump(ms: number): void {
    this.wall += ms;
  }
}

const at = (iso: string) => Date.parse(iso);

function scheduled(name: string, schedule: Record<string, unknown>, tasks: Array<Record<string, unknown>> = [{ id: 'a', kind: 'demo.echo', value: 1 }]) {
  return jobSpec(tasks, { name, schedule });
}

function setUp(startIso: string, engine: Engine = makeEngine()) {
  const clock = new FakeClock(at(startIso));
  const lines: string[] = [];
  const scheduler = new Scheduler({ engine, clock, log: (line) => lines.push(line) });
  const runs: Array<{ name: string; run: ScheduleRun }> = [];
  scheduler.on('run', (name, run) => runs.push({ name, run }));
  return { engine, clock, scheduler, runs, lines };
}

/** Passes `totalMs` of real time in steps, ticking after each, as the timer would. */
async function live(clock: FakeClock, scheduler: Scheduler, totalMs: number, stepMs = 1000): Promise<void> {
  for (let passed = 0; passed < totalMs; passed += stepMs) {
    clock.pass(stepMs);
    await scheduler.tick();
  }
}

describe('missed runs', () => {
  it('a wall clock moved forward by an hour gives one catch-up run, not sixty', async () => {
    const { engine, clock, scheduler, runs } = setUp('2026-06-01T10:00:30Z');
    await scheduler.add(scheduled('minutely', { cron: '* * * * *' }), 'minutely.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 10_000);
    expect(runs).toEqual([]);

    clock.jump(3_600_000);
    await live(clock, scheduler, 5000);
    expect(runs.map((r) => [r.run.trigger, r.run.outcome])).toEqual([['catch-up', 'started']]);
    expect(runs[0]!.run.note).toMatch(/^60 due times missed/);
    // The catch-up stands for the latest due time that passed.
    expect(runs[0]!.run.dueAt).toBe(at('2026-06-01T11:00:00Z'));
    const job = await engine.waitForJob(runs[0]!.run.jobId!);
    expect(job).toMatchObject({ name: 'minutely', state: 'succeeded' });

    // Then it goes on as usual: the next due time runs on time, once.
    await live(clock, scheduler, 60_000);
    expect(runs.map((r) => [r.run.trigger, r.run.outcome, new Date(r.run.dueAt).toISOString()])).toEqual([
      ['catch-up', 'started', '2026-06-01T11:00:00.000Z'],
      ['due', 'started', '2026-06-01T11:01:00.000Z'],
    ]);
    expect(scheduler.store.runs('minutely')).toHaveLength(2);
    await scheduler.stop();
  });

  it('a tick held up by a busy loop (both clocks move on) is late, not asleep: the due time runs as due, once', async () => {
    const { clock, scheduler, runs } = setUp('2026-06-01T10:00:58Z');
    await scheduler.add(scheduled('minutely', { cron: '* * * * *', catchUp: 'none' }), 'minutely.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    clock.pass(8000);
    await scheduler.tick();
    expect(runs.map((r) => [r.run.trigger, r.run.outcome, new Date(r.run.dueAt).toISOString()])).toEqual([['due', 'started', '2026-06-01T10:01:00.000Z']]);
    await scheduler.stop();
  });

  it('a host stopped while both clocks moved on (SIGSTOP) misses the due times that came meanwhile, and says so', async () => {
    const { engine, clock, scheduler, runs } = setUp('2026-06-01T10:00:00.500Z');
    await scheduler.add(scheduled('every2', { cron: '*/2 * * * * *' }), 'every2.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 2000);
    expect(runs.map((r) => r.run.trigger)).toEqual(['due']);
    await engine.waitForJob(runs[0]!.run.jobId!);
    // 9 s without a tick: 10:00:04 to 10:00:10 came meanwhile, the last one 0.5 s ago.
    clock.pass(9000);
    await scheduler.tick();
    expect(runs.map((r) => [r.run.trigger, r.run.outcome, new Date(r.run.dueAt).toISOString(), r.run.note])).toEqual([
      ['due', 'started', '2026-06-01T10:00:02.000Z', null],
      ['catch-up', 'started', '2026-06-01T10:00:10.000Z', '4 due times missed while the host was closed or asleep'],
    ]);
    await scheduler.stop();
  });

  it('catchUp "none" records the missed due times and starts nothing', async () => {
    const { engine, clock, scheduler, runs } = setUp('2026-06-01T10:00:30Z');
    await scheduler.add(scheduled('quiet', { cron: '* * * * *', catchUp: 'none' }), 'quiet.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    clock.jump(3_600_000);
    await live(clock, scheduler, 5000);
    expect(runs.map((r) => [r.run.outcome, r.run.jobId])).toEqual([['missed', null]]);
    expect(runs[0]!.run.note).toMatch(/^60 due times missed.*catchUp is "none"$/);
    expect(engine.jobs()).toEqual([]);
    expect(scheduler.get('quiet')!.lastRun).toMatchObject({ outcome: 'missed' });
    await scheduler.stop();
  });

  it('a host that was closed catches up once when it starts again, from the store', async () => {
    const dataDir = tempDir();
    const first = makeEngine({ dataDir });
    const before = setUp('2026-06-01T10:00:30Z', first);
    await before.scheduler.add(scheduled('hourly', { cron: '0 * * * *' }), 'hourly.yaml', '/');
    before.scheduler.start();
    await before.scheduler.tick();
    await before.scheduler.stop();
    await first.shutdown();

    // Five hours later a new host opens the same store.
    const after = setUp('2026-06-01T15:00:20Z', makeEngine({ dataDir }));
    after.scheduler.start();
    await after.scheduler.tick();
    await live(after.clock, after.scheduler, 3000);
    expect(after.runs.map((r) => [r.name, r.run.trigger, r.run.outcome, new Date(r.run.dueAt).toISOString()])).toEqual([
      ['hourly', 'catch-up', 'started', '2026-06-01T15:00:00.000Z'],
    ]);
    expect(after.runs[0]!.run.note).toMatch(/^5 due times missed/);
    await after.scheduler.stop();
  });

  it('a clock stepped back by seconds (a time sync after a wake-up) does not run a due time it has run already', async () => {
    const { clock, scheduler, runs } = setUp('2026-06-01T10:00:30Z');
    await scheduler.add(scheduled('minutely', { cron: '* * * * *', overlap: 'allow' }), 'minutely.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 31_000);
    expect(runs.map((r) => new Date(r.run.dueAt).toISOString())).toEqual(['2026-06-01T10:01:00.000Z']);
    // 10:01:01.000: the clock is stepped back by 3 s, to before the due time it has just run.
    clock.jump(-3000);
    await live(clock, scheduler, 62_000);
    expect(runs.map((r) => [r.run.trigger, new Date(r.run.dueAt).toISOString()])).toEqual([
      ['due', '2026-06-01T10:01:00.000Z'],
      ['due', '2026-06-01T10:02:00.000Z'],
    ]);
    await scheduler.stop();
  });

  it('a clock set back does not stall the schedule until the old time comes round again', async () => {
    const { clock, scheduler, runs } = setUp('2026-06-01T10:00:30Z');
    await scheduler.add(scheduled('minutely', { cron: '* * * * *' }), 'minutely.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    clock.jump(-3_600_000);
    await live(clock, scheduler, 61_000);
    expect(runs.map((r) => [r.run.trigger, new Date(r.run.dueAt).toISOString()])).toEqual([['due', '2026-06-01T09:01:00.000Z']]);
    await scheduler.stop();
  });
});

describe('a wake-up with many schedules', () => {
  it('counts each one’s missed times up to a hundred, and lets the event loop turn between schedules', async () => {
    const { clock, scheduler, runs } = setUp('2026-06-01T10:00:00.500Z');
    for (let n = 0; n < 20; n++) await scheduler.add(scheduled(`every-second-${n}`, { cron: '* * * * * *', timezone: 'Europe/Paris' }), 's.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    clock.jump(86_400_000);
    // Queued before the wake-up's tick: it runs at the tick's first turn of the loop.
    let handledAtFirstTurn = -1;
    setImmediate(() => (handledAtFirstTurn = runs.length));
    await scheduler.tick();
    expect(runs).toHaveLength(20);
    expect(new Set(runs.map((r) => `${r.run.trigger} ${r.run.note}`))).toEqual(new Set(['catch-up more than 100 due times missed while the host was closed or asleep']));
    expect(handledAtFirstTurn).toBeLessThan(2);
    await scheduler.stop();
  });
});

describe('overlap', () => {
  it('"skip" (the default) records a due time as skipped while the previous run still runs', async () => {
    const { engine, clock, scheduler, runs } = setUp('2026-06-01T10:00:00.500Z');
    await scheduler.add(scheduled('slow', { cron: '* * * * * *' }, [{ id: 'wait', kind: 'demo.sleep', ms: 60_000 }]), 'slow.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 3000);
    expect(runs.map((r) => r.run.outcome)).toEqual(['started', 'skipped', 'skipped']);
    expect(runs[1]!.run.note).toBe(`the previous run (job ${runs[0]!.run.jobId}) still runs`);
    expect(engine.jobs()).toHaveLength(1);

    // Once it has ended, the next due time runs again.
    engine.cancelJob(runs[0]!.run.jobId!);
    await engine.waitForJob(runs[0]!.run.jobId!);
    await live(clock, scheduler, 1000);
    expect(runs.map((r) => r.run.outcome)).toEqual(['started', 'skipped', 'skipped', 'started']);
    await scheduler.stop();
    engine.cancelAll();
  });

  it('"allow" starts every due time, even while the previous run runs', async () => {
    const { engine, clock, scheduler, runs } = setUp('2026-06-01T10:00:00.500Z');
    await scheduler.add(scheduled('piled', { cron: '* * * * * *', overlap: 'allow' }, [{ id: 'wait', kind: 'demo.sleep', ms: 60_000 }]), 'piled.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 3000);
    expect(runs.map((r) => r.run.outcome)).toEqual(['started', 'started', 'started']);
    expect(engine.jobs().filter((job) => job.state === 'running')).toHaveLength(3);
    await scheduler.stop();
    engine.cancelAll();
  });

  it('"run now" starts a run at once, and is skipped too while one runs', async () => {
    const { engine, scheduler } = setUp('2026-06-01T10:00:00Z');
    await scheduler.add(scheduled('manual', { cron: '0 3 * * *' }, [{ id: 'wait', kind: 'demo.sleep', ms: 60_000 }]), 'manual.yaml', '/');
    const first = await scheduler.runNow('manual');
    expect(first).toMatchObject({ trigger: 'manual', outcome: 'started' });
    const second = await scheduler.runNow('manual');
    expect(second).toMatchObject({ trigger: 'manual', outcome: 'skipped' });
    await expect(scheduler.runNow('nope')).rejects.toThrow('no schedule "nope"');
    // A name that never was one is quoted as JSON: the refusal stays on one line.
    await expect(scheduler.runNow('a\nb "c"')).rejects.toThrow('no schedule "a\\nb \\"c\\""');
    engine.cancelAll();
  });
});

describe('pause, resume, replace, remove', () => {
  it('a paused schedule runs nothing, and resuming does not catch up the paused time', async () => {
    const { clock, scheduler, runs } = setUp('2026-06-01T10:00:30Z');
    await scheduler.add(scheduled('minutely', { cron: '* * * * *' }), 'minutely.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    expect(await scheduler.setPaused('minutely', true)).toBe(true);
    expect(scheduler.get('minutely')).toMatchObject({ paused: true, nextRunAt: null });
    await live(clock, scheduler, 180_000, 10_000);
    expect(runs).toEqual([]);
    // Resumed at 10:03:30: the three minutes paused are let go of; 10:04 runs.
    expect(await scheduler.setPaused('minutely', false)).toBe(true);
    await live(clock, scheduler, 20_000, 10_000);
    expect(runs).toEqual([]);
    await live(clock, scheduler, 20_000, 10_000);
    expect(runs.map((r) => r.run.trigger)).toEqual(['due']);
    expect(await scheduler.setPaused('unknown', true)).toBe(false);
    await scheduler.stop();
  });

  it('adding a name that exists replaces it; removing stops it', async () => {
    const { clock, scheduler, runs } = setUp('2026-06-01T10:00:00.500Z');
    expect((await scheduler.add(scheduled('s', { cron: '0 3 * * *' }), 'a.yaml', '/')).replaced).toBe(false);
    const replaced = await scheduler.add(scheduled('s', { cron: '* * * * * *', timezone: 'Europe/Paris' }), 'b.yaml', '/');
    expect(replaced.replaced).toBe(true);
    expect(replaced.schedule).toMatchObject({ name: 's', cron: '* * * * * *', timezone: 'Europe/Paris', fileName: 'b.yaml' });
    expect(scheduler.list()).toHaveLength(1);
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 2000);
    expect(runs).toHaveLength(2);
    expect(await scheduler.remove('s')).toBe(true);
    await live(clock, scheduler, 3000);
    expect(runs).toHaveLength(2);
    expect(scheduler.list()).toEqual([]);
    expect(await scheduler.remove('s')).toBe(false);
    await scheduler.stop();
  });
});

describe('daylight saving time in a named zone', () => {
  /** Ticks every minute from `fromIso` for `hours`; returns the due times that ran. */
  async function runsOver(fromIso: string, hours: number, cron: string): Promise<string[]> {
    const { clock, scheduler, runs } = setUp(fromIso);
    await scheduler.add(scheduled('paris', { cron, timezone: 'Europe/Paris' }), 'paris.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, hours * 3_600_000, 60_000);
    await scheduler.stop();
    expect(runs.every((r) => r.run.trigger === 'due' && r.run.outcome === 'started')).toBe(true);
    return runs.map((r) => new Date(r.run.dueAt).toISOString());
  }

  it('02:30 on the spring-forward day (02:00-03:00 does not exist) runs once, at 03:00 CEST', async () => {
    expect(await runsOver('2026-03-28T23:00:00Z', 4, '30 2 * * *')).toEqual(['2026-03-29T01:00:00.000Z']);
  });

  it('02:30 on the fall-back day (02:00-03:00 happens twice) runs once, at the first 02:30', async () => {
    expect(await runsOver('2026-10-24T23:00:00Z', 4, '30 2 * * *')).toEqual(['2026-10-25T00:30:00.000Z']);
  });

  it('on the days around, 02:30 Paris is 00:30 or 01:30 UTC, once a day', async () => {
    const spring = await runsOver('2026-03-29T23:00:00Z', 3, '30 2 * * *');
    const autumn = await runsOver('2026-10-25T23:00:00Z', 3, '30 2 * * *');
    expect([...spring, ...autumn]).toEqual(['2026-03-30T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });
});

describe('a run that cannot start', () => {
  it('is recorded as missed with the reason, once per due time, and the schedule goes on', async () => {
    const { clock, scheduler, runs, lines } = setUp('2026-06-01T10:00:00.500Z');
    // As a newer Threadline could leave it: a kind this one does not know.
    const spec = scheduled('newer', { cron: '* * * * * *' });
    scheduler.store.put({ ...spec, schedule: spec.schedule!, tasks: [{ ...spec.tasks[0]!, kind: 'future.kind' }] }, 'newer.yaml', '/', clock.now());
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 2000);
    expect(runs.map((r) => [r.run.outcome, r.run.note])).toEqual([
      ['missed', 'could not start: unknown kind "future.kind" in task a'],
      ['missed', 'could not start: unknown kind "future.kind" in task a'],
    ]);
    expect(lines).toEqual(['schedule "newer": the run could not start: unknown kind "future.kind" in task a', 'schedule "newer": the run could not start: unknown kind "future.kind" in task a']);
    await scheduler.stop();
  });

  it('a closing engine starts nothing, and the scheduler does not fill the log about it', async () => {
    const engine = makeEngine();
    const { clock, scheduler, runs, lines } = setUp('2026-06-01T10:00:00.500Z', engine);
    await scheduler.add(scheduled('s', { cron: '* * * * * *' }), 's.yaml', '/');
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 1000);
    await waitFor(() => runs.length === 1, 20_000, 'the first run');
    await engine.shutdown();
    await live(clock, scheduler, 2000);
    expect(runs).toHaveLength(1);
    expect(lines).toEqual([]);
    await scheduler.stop();
  });
});

describe('a schedule this machine cannot read', () => {
  // As a data directory from another machine or version, or an edited store, could leave it.
  it('is left aside, said once in the log, while the others run, list and show in the metrics', async () => {
    const { engine, clock, scheduler, runs, lines } = setUp('2026-06-01T10:00:00.500Z');
    await scheduler.add(scheduled('a-zone', { cron: '* * * * * *' }), 'a.yaml', '/');
    await scheduler.add(scheduled('b-cron', { cron: '* * * * * *' }), 'b.yaml', '/');
    await scheduler.add(scheduled('c-fine', { cron: '* * * * * *', overlap: 'allow' }), 'c.yaml', '/');
    engine.store.db.prepare("UPDATE schedules SET timezone = 'Mars/Olympus_Mons' WHERE name = 'a-zone'").run();
    engine.store.db.prepare("UPDATE schedules SET cron = '61 * * * *' WHERE name = 'b-cron'").run();
    scheduler.start();
    await scheduler.tick();
    await live(clock, scheduler, 3000);
    expect(runs.map((r) => `${r.name} ${r.run.outcome}`)).toEqual(['c-fine started', 'c-fine started', 'c-fine started']);
    expect(lines).toEqual([
      'schedule "a-zone" does not run: schedule.timezone: unknown time zone "Mars/Olympus_Mons"; expected an IANA name such as "Europe/Paris"; add it again from a job file that this machine can read',
      'schedule "b-cron" does not run: schedule.cron: not a valid cron expression "61 * * * *": CronPattern: Invalid value for minute: 61; add it again from a job file that this machine can read',
    ]);
    const listed = scheduler.list();
    expect(listed.map((s) => [s.name, s.nextRunAt === null])).toEqual([['a-zone', true], ['b-cron', true], ['c-fine', false]]);
    expect(scheduler.nextRuns().filter((s) => s.nextRunAt !== null).map((s) => s.name)).toEqual(['c-fine']);
    const metrics = createMetrics(engine, scheduler);
    const exposition = await metrics.render();
    metrics.close();
    expect(exposition).toContain('threadline_schedule_next_run_timestamp_seconds{schedule="c-fine"}');
    // Added again from a job file this machine reads, it runs.
    await scheduler.add(scheduled('a-zone', { cron: '* * * * * *', timezone: 'Europe/Paris' }), 'a.yaml', '/');
    await live(clock, scheduler, 1000);
    expect(runs.filter((r) => r.name === 'a-zone').map((r) => r.run.outcome)).toEqual(['started']);
    await scheduler.stop();
  });
});
