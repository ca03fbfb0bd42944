import type { HostNotice } from '../../contract/api.js';
import { shownName } from '../../contract/machine-names.js';
import { forgetSilent, LINK_CUT_WINDOW_MS, type WorkerAnnouncement } from './remote-protocol.js';
import { MAX_MACHINES } from './worker-roster.js';

/** Machines named in the notice; the rest are counted. */
const NAMED = 5;

interface CutOff {
  host: string;
  cuts: number;
  reason: string;
  since: number;
  lastHeardAt: number;
}

/**
 * Workers that say they cannot keep their connections to Redis (a link that cuts them): their
 * tasks cannot send their ends, so people are told, once per worker and not with each of its
 * announcements, until it says its connections hold, leaves, or is not heard for as long as a
 * lost worker. It also remembers when each machine was last cut off (for as many machines as the
 * roster keeps), so that a task found stalled twice there fails saying so, not as a crash.
 */
export class CutOffWorkers {
  private readonly now: () => number;
  private readonly byName = new Map<string, CutOff>();
  private readonly lastCutAt = new Map<string, number>();

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Takes a (good) announcement; true when the notice changes (a worker cut off, or holding again). */
  heard(announcement: WorkerAnnouncement): boolean {
    const at = this.now();
    const { name, linkCut } = announcement;
    if (!linkCut || announcement.state === 'leaving') return this.byName.delete(name);
    this.remember(name, at);
    const known = this.byName.get(name);
    if (known) {
      Object.assign(known, { cuts: linkCut.cuts, reason: linkCut.reason, lastHeardAt: at });
      return false;
    }
    this.byName.set(name, { host: announcement.host, cuts: linkCut.cuts, reason: linkCut.reason, since: at, lastHeardAt: at });
    return true;
  }

  /** Whether the machine said it was cut off at any time since `since` (or is now). */
  cutSince(name: string, since: number): boolean {
    return (this.lastCutAt.get(name) ?? -Infinity) >= since;
  }

  /** The machines cut off since `since`, by name. */
  namesCutSince(since: number): string[] {
    return [...this.lastCutAt].filter(([, at]) => at >= since).map(([name]) => name);
  }

  /** Whether the machine says now that it cannot keep its connections. */
  isCutOff(name: string): boolean {
    return this.byName.has(name);
  }

  /** Forgets the workers not heard for as long as a lost one (they say nothing more); true when the notice changes. */
  forgetSilent(): boolean {
    return forgetSilent(this.byName, this.now());
  }

  notice(): HostNotice | null {
    if (this.byName.size === 0) return null;
    const cut = [...this.byName];
    const named = cut.slice(0, NAMED).map(([name, c]) => `${shownName(name)} on host ${shownName(c.host)} (${c.cuts} connections cut within ${LINK_CUT_WINDOW_MS / 1000} s, the last ${c.reason})`);
    const more = cut.length > NAMED ? ` and ${cut.length - NAMED} other${cut.length - NAMED === 1 ? '' : 's'}` : '';
    const who = cut.length === 1 ? `the remote worker ${named[0]}` : `the remote workers ${named.join(', ')}${more}`;
    return {
      code: 'REMOTE_WORKER_CUT_OFF',
      since: Math.min(...cut.map(([, c]) => c.since)),
      message: `${who} cannot keep a connection to Redis: ${cut.length === 1 ? 'it takes' : 'they take'} no new task, a task whose end cannot get through runs again on another worker, and one found stalled twice so fails (REMOTE_LINK_CUT); check the network between ${cut.length === 1 ? 'that machine' : 'those machines'} and Redis (a VPN or a proxy that cuts connections)`,
    };
  }

  private remember(name: string, at: number): void {
    this.lastCutAt.delete(name);
    this.lastCutAt.set(name, at);
    // Oldest first: beyond as many machines as the roster keeps, the oldest is forgotten.
    if (this.lastCutAt.size > MAX_MACHINES) this.lastCutAt.delete(this.lastCutAt.keys().next().value!);
  }
}
