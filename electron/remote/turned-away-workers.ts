import type { HostNotice } from '../../contract/api.js';
import { shownName } from '../../contract/machine-names.js';
import { forgetSilent, MAX_ANNOUNCED_THREADS } from './remote-protocol.js';

/** Why an announcement under a good name was not taken. */
export type TurnedAwayReason = 'roster-full' | 'too-many-threads';

interface TurnedAway {
  /** The first announcement turned away for this reason, as a one-line message shows it. */
  first: string;
  since: number;
  lastHeardAt: number;
}

/**
 * Workers heard under a good name whose announcement was still not taken: the roster was full
 * (a new name beyond the machines kept), or it claimed more threads than a worker may have. One
 * notice tells of both, whatever the number of names or heartbeats (only the first of each reason
 * is named), until no such announcement has been heard for as long as the roster takes a worker
 * for lost.
 */
export class TurnedAwayWorkers {
  private readonly byReason = new Map<TurnedAwayReason, TurnedAway>();

  constructor(
    private readonly maxMachines: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes an announcement turned away; true when the notice changes (a reason not heard of before). */
  heard(reason: TurnedAwayReason, name: string, host: string, threads: number): boolean {
    const at = this.now();
    const known = this.byReason.get(reason);
    if (known) {
      known.lastHeardAt = at;
      return false;
    }
    const who = `${shownName(name)} on host ${shownName(host)}`;
    this.byReason.set(reason, { first: reason === 'too-many-threads' ? `${who}, with ${threads}` : who, since: at, lastHeardAt: at });
    return true;
  }

  /** Forgets the reasons not heard for as long as a lost worker; true when the notice changes. */
  forgetSilent(): boolean {
    return forgetSilent(this.byReason, this.now());
  }

  /** The notice for the announcements turned away, or null when none is heard. */
  notice(): HostNotice | null {
    const full = this.byReason.get('roster-full');
    const threads = this.byReason.get('too-many-threads');
    const parts: string[] = [];
    if (full) {
      parts.push(
        `remote workers announced themselves while this orchestrator already lists the ${this.maxMachines} machines it keeps (the first turned away: ${full.first}), so they are not listed and their threads add no room for tasks; ` +
          'a lost machine is forgotten after a while and makes room, and names nobody started mean someone who can write to Redis is announcing forged workers',
      );
    }
    if (threads) {
      parts.push(
        `a remote worker announced more threads than a worker may have (${threads.first}, over ${MAX_ANNOUNCED_THREADS}), so its announcement is ignored and its threads add no room for tasks; ` +
          `start it with --workers ${MAX_ANNOUNCED_THREADS} or fewer`,
      );
    }
    if (parts.length === 0) return null;
    const since = Math.min(...[full, threads].flatMap((t) => (t ? [t.since] : [])));
    return { code: 'REMOTE_WORKER_TURNED_AWAY', since, message: parts.join('; and ') };
  }
}
