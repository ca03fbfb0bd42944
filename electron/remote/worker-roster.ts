import type { RemoteMachine } from '../../contract/telemetry.js';
import { LOST_AFTER_MS, type WorkerAnnouncement } from './remote-protocol.js';

/**
 * How long a lost machine stays listed (as `lost`) before it is forgotten, unless tasks are
 * recorded as running there: long enough that a reboot or a network blip does not take it off
 * the Workers panel and the metrics, short enough that names a writer to Redis made up, or
 * machines retired without draining, do not pile up for the life of the orchestrator.
 */
export const FORGET_LOST_AFTER_MS = 10 * 60_000;
/**
 * Machines kept at most: each costs metric series, a Workers panel row and a share of every
 * telemetry sample, so a writer to Redis announcing endless names costs this much and no more.
 * It is far above the workers one Redis serves in practice; a new name heard while it is full is
 * turned away (and told of in a notice) until lost machines are forgotten.
 */
export const MAX_MACHINES = 1000;

export interface RosterLimits {
  forgetLostAfterMs: number;
  maxMachines: number;
}
export const ROSTER_LIMITS: RosterLimits = { forgetLostAfterMs: FORGET_LOST_AFTER_MS, maxMachines: MAX_MACHINES };

interface Entry {
  announcement: WorkerAnnouncement;
  /** Wall-clock time, as the Workers panel shows it. */
  lastHeardAt: number;
  /** On the `listened` clock: a silence counts only while the orchestrator could hear. */
  heardAt: number;
}

/** The workers on the queue, as their announcements describe them; the source of the remote executor's room. */
export class WorkerRoster {
  private readonly byName = new Map<string, Entry>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits: RosterLimits = ROSTER_LIMITS,
    /**
     * The time the orchestrator ran (`RunningClock`): stopped or asleep, it hears nothing, and
     * the announcements sent meanwhile wait on its connection, so that time is no worker's silence.
     */
    private readonly listened: () => number = now,
  ) {}

  /** False when the announcement is of a machine not listed and the roster is full: it is then turned away. */
  hasRoomFor(announcement: WorkerAnnouncement): boolean {
    return announcement.state === 'leaving' || this.byName.has(announcement.name) || this.byName.size < this.limits.maxMachines;
  }

  /** Takes an announcement; returns true when it adds room (a new worker, or more threads). */
  heard(announcement: WorkerAnnouncement): boolean {
    const before = this.threadsOf(announcement.name);
    if (announcement.state === 'leaving') {
      this.byName.delete(announcement.name);
      return false;
    }
    if (!this.hasRoomFor(announcement)) return false;
    this.byName.set(announcement.name, { announcement, lastHeardAt: this.now(), heardAt: this.listened() });
    return this.threadsOf(announcement.name) > before;
  }

  /** Forgets the machines lost for longer than the limits allow with none of our tasks running there; true when any was. */
  forgetLost(runningOn: (name: string) => number): boolean {
    const now = this.listened();
    let forgot = false;
    for (const [name, entry] of this.byName) {
      if (now - entry.heardAt <= LOST_AFTER_MS + this.limits.forgetLostAfterMs || runningOn(name) > 0) continue;
      this.byName.delete(name);
      forgot = true;
    }
    return forgot;
  }

  /** How many machines are listed (at most the limits' `maxMachines`). */
  get size(): number {
    return this.byName.size;
  }

  /** Threads of the workers that take tasks now. */
  get threads(): number {
    let threads = 0;
    for (const name of this.byName.keys()) threads += this.threadsOf(name);
    return threads;
  }

  private threadsOf(name: string): number {
    const entry = this.byName.get(name);
    // A worker that cannot keep its connections takes no task (it says so), so it is no room either.
    if (!entry || entry.announcement.state !== 'ready' || entry.announcement.linkCut || this.isLost(entry)) return 0;
    return entry.announcement.threads;
  }

  private isLost(entry: Entry): boolean {
    return this.listened() - entry.heardAt > LOST_AFTER_MS;
  }

  /** The machines, with how many of this orchestrator's tasks run on each (`runningOn` counts them by worker name). */
  machines(runningOn: (name: string) => number): RemoteMachine[] {
    return [...this.byName.values()].map((entry) => ({
      name: entry.announcement.name,
      host: entry.announcement.host,
      threads: entry.announcement.threads,
      running: runningOn(entry.announcement.name),
      state: this.isLost(entry) ? 'lost' : entry.announcement.state === 'draining' ? 'draining' : 'ready',
      lastHeardAt: entry.lastHeardAt,
      rssBytes: entry.announcement.rssBytes,
      loopDelayP99Ms: entry.announcement.loopDelayP99Ms,
    }));
  }
}
