import type { RemoteMachine } from '../../contract/telemetry.js';
import { LOST_AFTER_MS, type WorkerAnnouncement } from './remote-protocol.js';

interface Entry {
  announcement: WorkerAnnouncement;
  lastHeardAt: number;
}

/** The workers on the queue, as their announcements describe them; the source of the remote executor's room. */
export class WorkerRoster {
  private readonly byName = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes an announcement; returns true when it adds room (a new worker, or more threads). */
  heard(announcement: WorkerAnnouncement): boolean {
    const before = this.threadsOf(announcement.name);
    if (announcement.state === 'leaving') {
      this.byName.delete(announcement.name);
      return false;
    }
    this.byName.set(announcement.name, { announcement, lastHeardAt: this.now() });
    return this.threadsOf(announcement.name) > before;
  }

  /** Threads of the workers that take tasks now. */
  get threads(): number {
    let threads = 0;
    for (const name of this.byName.keys()) threads += this.threadsOf(name);
    return threads;
  }

  private threadsOf(name: string): number {
    const entry = this.byName.get(name);
    if (!entry || entry.announcement.state !== 'ready' || this.isLost(entry)) return 0;
    return entry.announcement.threads;
  }

  private isLost(entry: Entry): boolean {
    return this.now() - entry.lastHeardAt > LOST_AFTER_MS;
  }

  /** The machines, with how many of this orchestrator's tasks run on each (`runningOn` counts them by worker name). */
  machines(runningOn: (name: string) => number): RemoteMachine[] {
    return [...this.byName.values()].map(({ announcement: a, lastHeardAt }) => ({
      name: a.name,
      host: a.host,
      threads: a.threads,
      running: runningOn(a.name),
      state: this.isLost({ announcement: a, lastHeardAt }) ? 'lost' : a.state === 'draining' ? 'draining' : 'ready',
      lastHeardAt,
      rssBytes: a.rssBytes,
      loopDelayP99Ms: a.loopDelayP99Ms,
    }));
  }
}
