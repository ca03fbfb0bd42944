/**
 * Runs due schedules while a host (`threadline serve`, the desktop app) runs. It sits beside
 * the engine and starts each run as an ordinary job through `submitJob`; the schedules and the
 * record of their runs live in the job store, so they outlive the host.
 *
 * One tick at most every second (sooner when a due time is nearer) reads the schedules afresh
 * (another process may have changed them) and, for each, looks at the due times that came
 * since it was last handled:
 * - only one came, within `lateMs`, and the host was awake throughout: a normal run;
 * - otherwise they were missed (the host was closed, the machine slept, the clock was moved):
 *   `catchUp: once` starts one run for all of them, `none` records them as missed. Never a burst.
 * A sleep shows as the wall clock moving more than the monotonic clock between two ticks, or as
 * more than one due time come since the last tick (where the monotonic clock went on too).
 */
import { EventEmitter } from 'node:events';
import type { JobSpec } from '../../contract/job-spec.js';
import type { JobRecord } from '../../contract/records.js';
import { latestDueAtOrBefore, nextDueAfter, scheduleSchema, type ScheduleRecord, type ScheduleRun, type ScheduleSpec, type ScheduleTrigger } from '../../contract/schedule.js';
import type { Engine } from '../engine/engine.js';
import { ThreadlineError } from '../engine/errors.js';
import { systemClock, type SchedulerClock } from './scheduler-clock.js';
import { nextDueOrNull, ScheduleStore, type StoredSchedule } from './schedule-store.js';

/** What the scheduler needs of an engine. */
export type SchedulerEngine = Pick<Engine, 'submitJob' | 'job' | 'isClosing'> & { store: { db: Engine['store']['db'] } };

export interface SchedulerOptions {
  engine: SchedulerEngine;
  clock?: SchedulerClock;
  /** The longest wait between two ticks. */
  tickMs?: number;
  /** A due time noticed later than this counts as missed, not late. */
  lateMs?: number;
  /** Wall and monotonic clocks drifting apart by more than this between ticks: a sleep or a clock change. */
  jumpMs?: number;
  /** Problems starting a run (the store or engine refused it): one line each. */
  log?: (line: string) => void;
}

export interface SchedulerEvents {
  /** A due time was handled, or a person asked for a run. */
  run: [name: string, run: ScheduleRun];
  /** A schedule was removed (its series leave the metrics). */
  removed: [name: string];
}

const DEFAULTS = { tickMs: 1000, lateMs: 10_000, jumpMs: 5000 };
/**
 * How many missed due times are counted one by one for the record; beyond, "more than". Each
 * step is croner working out a date in the schedule's zone (about 0.1 ms): a wake-up counts for
 * every schedule at once on the host's main thread, so the count stays short.
 */
const MISSED_COUNT_CAP = 100;
/** A clock set back by up to this waits for its handled due times to come round again; by more, starts afresh. */
const SET_BACK_WAIT_MS = 10 * 60_000;
/** Schedule fields whose check is remembered; beyond, the memory starts afresh. */
const CHECKED_CACHE_SIZE = 10_000;

export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly store: ScheduleStore;
  private readonly engine: SchedulerEngine;
  private readonly db: SchedulerEngine['store']['db'];
  private readonly clock: SchedulerClock;
  private readonly tickMs: number;
  private readonly lateMs: number;
  private readonly jumpMs: number;
  private readonly log: (line: string) => void;
  /** Jobs started by each schedule in this host, newest last, to know whether one still runs. */
  private readonly started = new Map<string, string>();
  /** Schedules whose run is being admitted right now. */
  private readonly admitting = new Set<string>();
  /** Schedules this machine cannot read (their zone or cron), with the problem already logged once. */
  private readonly unreadable = new Map<string, string>();
  private readonly checked = new Map<string, string | null>();
  private timer: unknown = null;
  private last: { wall: number; mono: number } | null = null;
  /** Ticks and runs on request take turns: one at a time. */
  private turn: Promise<unknown> = Promise.resolve();
  private stopped = true;

  constructor(options: SchedulerOptions) {
    super();
    this.engine = options.engine;
    this.db = options.engine.store.db;
    this.store = new ScheduleStore(this.db);
    this.clock = options.clock ?? systemClock;
    this.tickMs = options.tickMs ?? DEFAULTS.tickMs;
    this.lateMs = options.lateMs ?? DEFAULTS.lateMs;
    this.jumpMs = options.jumpMs ?? DEFAULTS.jumpMs;
    this.log = options.log ?? ((line) => console.warn(line));
  }

  /** Starts ticking. The first tick treats what fell due while no host ran as missed. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.last = null;
    void this.tick().catch((error: unknown) => this.log(`schedules: ${(error as Error).message}`));
  }

  /** Stops ticking and waits for a run being admitted; call before the engine shuts down. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    await this.turn.catch(() => undefined);
  }

  /** One look at every schedule now (the timer calls it; tests with a fake clock too). */
  tick(): Promise<void> {
    return this.inTurn(() => this.handleDue());
  }

  // ---- what hosts and the API call -----------------------------------------------------------

  list(): ScheduleRecord[] {
    const now = this.clock.now();
    return this.store.list().map((stored) => this.store.record(stored, now, (jobId) => this.engine.job(jobId)?.state ?? null));
  }

  get(name: string): ScheduleRecord | null {
    const stored = this.store.get(name);
    return stored ? this.store.record(stored, this.clock.now(), (jobId) => this.engine.job(jobId)?.state ?? null) : null;
  }

  /**
   * Adds a job's schedule (or replaces the one of its name); its first run is its next due time.
   * This and the other changes wait for a run being started to be done with, so that once they
   * resolve, nothing of the old schedule starts any more.
   */
  add(spec: JobSpec, fileName: string, baseDir: string): Promise<{ replaced: boolean; schedule: ScheduleRecord }> {
    const schedule = spec.schedule;
    if (!schedule) {
      return Promise.reject(new ThreadlineError('JOB_FILE_INVALID', `${fileName}: schedule: missing; expected { cron, timezone?, catchUp?, overlap? } to add it as a schedule`));
    }
    return this.inTurn(async () => {
      const { replaced } = this.store.put({ ...spec, schedule }, fileName, baseDir, this.clock.now());
      this.rearm();
      return { replaced, schedule: this.get(spec.name)! };
    });
  }

  /** False when there was no such schedule. */
  remove(name: string): Promise<boolean> {
    return this.inTurn(async () => {
      const removed = this.store.remove(name);
      this.started.delete(name);
      this.unreadable.delete(name);
      this.rearm();
      if (removed) this.emit('removed', name);
      return removed;
    });
  }

  /** False when there is no such schedule. */
  setPaused(name: string, paused: boolean): Promise<boolean> {
    return this.inTurn(async () => {
      const changed = this.store.setPaused(name, paused, this.clock.now());
      this.rearm();
      return changed;
    });
  }

  /** Starts a run now, out of turn (still skipped if the last one runs and overlap is "skip"). */
  runNow(name: string): Promise<ScheduleRun> {
    return this.inTurn(async () => {
      const stored = this.store.get(name);
      if (!stored) throw new ThreadlineError('NOT_FOUND', `no schedule ${JSON.stringify(name)}`);
      const now = this.clock.now();
      return this.startRun(stored, now, 'manual', null);
    });
  }

  /** Each schedule's next due time (null when paused), for the metrics. */
  nextRuns(): Array<{ name: string; nextRunAt: number | null }> {
    const now = this.clock.now();
    return this.store.list().map((stored) => ({
      name: stored.name,
      nextRunAt: stored.paused ? null : nextDueOrNull(stored.schedule, Math.max(stored.handledUntil, now)),
    }));
  }

  // ---- ticking ----------------------------------------------------------------------------------

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const run = this.turn.then(work, work);
    this.turn = run.catch(() => undefined);
    return run;
  }

  private async handleDue(): Promise<void> {
    if (this.stopped || this.engine.isClosing) return;
    const now = this.clock.now();
    const mono = this.clock.monotonic();
    // First tick of this host, or the wall clock moved unlike the monotonic one (a sleep, a new time).
    const woke = this.last === null || Math.abs(now - this.last.wall - (mono - this.last.mono)) > this.jumpMs;
    this.last = { wall: now, mono };
    try {
      for (const stored of this.store.list()) {
        if (this.stopped || this.engine.isClosing) return;
        if (!stored.paused && this.readable(stored)) await this.handleSchedule(stored, now, woke);
        // After a sleep every schedule has missed times to count: let the window and the API in between.
        if (woke) await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      if (!this.engine.isClosing) this.log(`schedules: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      this.arm(now);
    }
  }

  private async handleSchedule(stored: StoredSchedule, now: number, woke: boolean): Promise<void> {
    if (stored.handledUntil > now) {
      // The clock was set back. By a little (a time sync after a wake-up): wait for the handled
      // times to come round, so that none runs twice. By more: start afresh from the new now
      // rather than wait that long for the old one.
      if (stored.handledUntil - now > SET_BACK_WAIT_MS) this.store.setHandledUntil(stored.name, now);
      return;
    }
    const latest = latestDueAtOrBefore(stored.schedule, now);
    if (latest === null || latest <= stored.handledUntil) return;
    this.store.setHandledUntil(stored.name, latest);
    // More than one due time since the last handled one: the host did not run for a while, even
    // if both clocks moved alike (a process stopped with Ctrl-Z or SIGSTOP, or a system whose
    // monotonic clock counts its sleep): the earlier ones were missed, whatever the clocks say.
    const alone = nextDueAfter(stored.schedule, stored.handledUntil) === latest;
    if (!woke && alone && now - latest <= this.lateMs) {
      await this.startRun(stored, latest, 'due', null);
      return;
    }
    const missed = countDueTimes(stored.schedule, stored.handledUntil, now);
    const note = `${missed > MISSED_COUNT_CAP ? `more than ${MISSED_COUNT_CAP}` : missed} due time${missed === 1 ? '' : 's'} missed while the host was closed or asleep`;
    if (stored.schedule.catchUp === 'once') await this.startRun(stored, latest, 'catch-up', note);
    else this.record(stored.name, { dueAt: latest, at: now, trigger: 'due', outcome: 'missed', jobId: null, jobState: null, note: `${note}; catchUp is "none"` });
  }

  private async startRun(stored: StoredSchedule, dueAt: number, trigger: ScheduleTrigger, note: string | null): Promise<ScheduleRun> {
    const at = this.clock.now();
    const previous = this.previousRunning(stored.name);
    if (stored.schedule.overlap === 'skip' && previous !== null) {
      return this.record(stored.name, {
        dueAt, at, trigger, outcome: 'skipped', jobId: null, jobState: null,
        note: previous === '' ? 'the previous run is still being admitted' : `the previous run (job ${previous}) still runs`,
      });
    }
    const runs = this.store.jobOf(stored.name);
    if (!runs) return this.record(stored.name, { dueAt, at, trigger, outcome: 'missed', jobId: null, jobState: null, note: 'the schedule was removed' });
    this.admitting.add(stored.name);
    let job: JobRecord;
    try {
      job = await this.engine.submitJob(runs.spec, runs.baseDir);
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0]!;
      if (!this.engine.isClosing) this.log(`schedule "${stored.name}": the run could not start: ${reason}`);
      return this.record(stored.name, { dueAt, at, trigger, outcome: 'missed', jobId: null, jobState: null, note: `could not start: ${reason}` });
    } finally {
      this.admitting.delete(stored.name);
    }
    this.started.set(stored.name, job.id);
    return this.record(stored.name, { dueAt, at, trigger, outcome: 'started', jobId: job.id, jobState: job.state, note });
  }

  /**
   * Whether this machine can compute the schedule's due times. A row stored where its zone or
   * cron was known (a data directory from another machine or version, an edited store) is left
   * aside, said once in the log, so that the other schedules still run.
   */
  private readable(stored: StoredSchedule): boolean {
    const problem = this.problemOf(stored.schedule);
    if (problem === null) {
      this.unreadable.delete(stored.name);
      return true;
    }
    if (this.unreadable.get(stored.name) !== problem) {
      this.unreadable.set(stored.name, problem);
      this.log(`schedule "${stored.name}" does not run: ${problem}; add it again from a job file that this machine can read`);
    }
    return false;
  }

  /** The schedule field's first problem on this machine, or null; remembered, as every tick asks. */
  private problemOf(schedule: ScheduleSpec): string | null {
    const key = JSON.stringify(schedule);
    let problem = this.checked.get(key);
    if (problem === undefined) {
      const checked = scheduleSchema.safeParse(schedule);
      const issue = checked.success ? null : checked.error.issues[0]!;
      problem = issue ? `${['schedule', ...issue.path].join('.')}: ${issue.message}` : null;
      if (this.checked.size >= CHECKED_CACHE_SIZE) this.checked.clear();
      this.checked.set(key, problem);
    }
    return problem;
  }

  /** The id of the schedule's run that still runs ('' while one is being admitted), or null. */
  private previousRunning(name: string): string | null {
    if (this.admitting.has(name)) return '';
    const jobId = this.started.get(name) ?? this.store.lastJobId(name);
    if (jobId === null) return null;
    return this.engine.job(jobId)?.state === 'running' ? jobId : null;
  }

  private record(name: string, run: ScheduleRun): ScheduleRun {
    // A schedule removed while its run was being admitted has no row to hang the record on, and
    // a store closed meanwhile (the host is quitting) takes no more records.
    if (this.db.open && this.store.get(name)) this.store.recordRun(name, run);
    this.emit('run', name, run);
    return run;
  }

  /** Ticks again at the nearest due time, and at least every `tickMs` (to notice sleeps and other processes' changes). */
  private arm(now: number): void {
    this.clearTimer();
    if (this.stopped) return;
    let wait = this.tickMs;
    try {
      for (const stored of this.store.list()) {
        if (stored.paused) continue;
        const next = nextDueOrNull(stored.schedule, Math.max(stored.handledUntil, now));
        // A few ms past the due time: a timer that fires a hair early would find nothing due yet.
        if (next !== null) wait = Math.min(wait, Math.max(0, next - now) + 5);
      }
    } catch {
      // The store is closing: the regular tick will find out.
    }
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      void this.tick().catch((error: unknown) => this.log(`schedules: ${(error as Error).message}`));
    }, wait);
  }

  /** After a change from the API: look again now rather than at the next regular tick. */
  private rearm(): void {
    if (this.stopped) return;
    this.clearTimer();
    this.timer = this.clock.setTimer(() => {
      this.timer = null;
      void this.tick().catch((error: unknown) => this.log(`schedules: ${(error as Error).message}`));
    }, 0);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}

/** How many due times fall in (from, to], counted up to one more than the cap. */
function countDueTimes(schedule: ScheduleSpec, from: number, to: number): number {
  let n = 0;
  for (let at = nextDueAfter(schedule, from); at !== null && at <= to && n <= MISSED_COUNT_CAP; at = nextDueAfter(schedule, at)) n++;
  return n;
}
