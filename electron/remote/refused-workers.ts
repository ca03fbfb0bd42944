import type { HostNotice } from '../../contract/api.js';
import { MACHINE_NAME_EXPECTED, shownName } from '../../contract/machine-names.js';
import { forgetSilent } from './remote-protocol.js';

/** Refused names a notice lists; the others are counted. */
export const SHOWN_REFUSED_NAMES = 5;
/**
 * Refused names remembered at most, each until it stops announcing: a writer to Redis sending
 * endless distinct names costs this much and no more. Names heard while it is full are not kept
 * (the notice says there are more than it counts).
 */
export const KEPT_REFUSED_NAMES = 1000;
/** A name is remembered by its start: a name of megabytes is not kept whole. */
const KEY_CHARS = 200;

interface Refused {
  /** The name as a one-line message shows it: JSON-quoted, a long one cut. */
  name: string;
  host: string;
  problem: string;
  firstHeardAt: number;
  lastHeardAt: number;
}

/**
 * The workers heard announcing themselves under a name the orchestrator refuses (a worker of an
 * older version, or a forged announcement): they are not in the roster, so their threads are not
 * used, and the host notice built here is what tells people why, once per name rather than per
 * heartbeat, until the name stops announcing for as long as the roster takes a worker for lost.
 */
export class RefusedWorkers {
  /** By the name's start, in the order first heard. */
  private readonly byKey = new Map<string, Refused>();
  /** Names were heard while the map was full, and not kept. */
  private overflowed = false;

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes an announcement under a refused name; true when the notice changes (a name not heard of before, or one leaving). */
  heard(name: string, host: string, problem: string, leaving: boolean): boolean {
    const key = name.slice(0, KEY_CHARS);
    if (leaving) return this.byKey.delete(key);
    const known = this.byKey.get(key);
    const at = this.now();
    if (known) {
      known.lastHeardAt = at;
      return false;
    }
    if (this.byKey.size >= KEPT_REFUSED_NAMES) {
      const changed = !this.overflowed;
      this.overflowed = true;
      return changed;
    }
    this.byKey.set(key, { name: shownName(name), host: shownName(host), problem, firstHeardAt: at, lastHeardAt: at });
    return true;
  }

  /** Forgets the names not heard for as long as a lost worker; true when the notice changes. */
  forgetSilent(): boolean {
    const changed = forgetSilent(this.byKey, this.now());
    if (changed && this.overflowed) this.overflowed = false; // room again: names still announcing are kept anew
    return changed;
  }

  /** How many names are remembered now (at most KEPT_REFUSED_NAMES). */
  get size(): number {
    return this.byKey.size;
  }

  /** The notice for the names heard, or null when none is announcing. */
  notice(): HostNotice | null {
    const listed: Refused[] = [];
    for (const refused of this.byKey.values()) {
      listed.push(refused);
      if (listed.length === SHOWN_REFUSED_NAMES) break;
    }
    const [first] = listed;
    if (!first) return null;
    // The map keeps the order names were first heard in: the first is the oldest.
    const since = first.firstHeardAt;
    const advice = `upgrade the worker to this version of Threadline, or start it with another --name (expected ${MACHINE_NAME_EXPECTED})`;
    if (this.byKey.size === 1 && !this.overflowed) {
      return { code: 'REMOTE_WORKER_REFUSED', since, message: `a remote worker on host ${first.host} announced itself as ${first.name}, a name this orchestrator refuses (it ${first.problem}), so it is not listed and its threads add no room for tasks; ${advice}` };
    }
    const others = this.byKey.size - listed.length;
    const more = this.overflowed ? ` and ${others} or more others` : others > 0 ? ` and ${others} more` : '';
    const names = listed.map((r) => `${r.name} on host ${r.host} (${r.problem})`).join(', ');
    return {
      code: 'REMOTE_WORKER_REFUSED',
      since,
      message: `remote workers announced themselves under names this orchestrator refuses, so they are not listed and their threads add no room for tasks: ${names}${more}; for each, ${advice}`,
    };
  }
}
