import type { TaskAttempt } from '../../../contract/records';
import type { TaskState } from '../../../contract/task-states';
import type { RemoteMachine } from '../../../contract/telemetry';
import { remoteThread, threadLaneOf, workerId, type RemoteThread } from '../worker-names';

/**
 * The lane of the event loop; every other lane is a pool thread, named by its thread id, or a
 * thread of a remote worker machine, named `<machine>/<thread>`. A lane is a thread: an attempt
 * whose worker names none has no bar.
 */
export const LOOP_LANE = 'loop';

/** Concurrent loop tasks stack in at most this many rows; more share a row. */
export const MAX_LOOP_ROWS = 6;

/** One attempt of a task, drawn as a bar from its start to its end, after its queue wait. */
export interface TimelineBar {
  readonly taskKey: string;
  readonly attempt: number;
  laneId: string;
  row: number;
  /** When the task began waiting for this attempt (equal to `start` when unknown). */
  waitStart: number;
  start: number;
  /** Null while the attempt runs: the bar grows with the clock. */
  end: number | null;
  /** The colour: the attempt's outcome, or `running` / `cancelling` while it runs. */
  state: TaskState;
}

export interface TimelineLane {
  readonly id: string;
  readonly kind: 'loop' | 'worker' | 'remote';
  /** For a remote lane, its machine and thread there; null otherwise. */
  readonly remote: RemoteThread | null;
  /** When the lane first had a thread or a bar. */
  firstAt: number;
  /** When telemetry stopped listing the thread (it ended or was replaced, or its machine was lost); null while alive. */
  retiredAt: number | null;
  /** Sorted by `start`. */
  readonly bars: TimelineBar[];
  /** Bars without an end yet; few, so drawn without a search. */
  readonly live: Set<TimelineBar>;
  rowCount: number;
  /** Per row: when its last bar ended (Infinity while that bar runs). */
  readonly rowFreeAt: number[];
  /** The longest finished run in the lane: how far back a search must look for bars reaching into a window. */
  maxRun: number;
  /** The longest queue wait in the lane: how far past a window a search must look for waits reaching into it. */
  maxWait: number;
  lastEnd: number;
}

/** What the index needs to know of a task besides its attempts. */
export interface BarTaskFacts {
  state: TaskState;
  queuedAt: number;
}

/**
 * The timeline's bars, indexed by lane and start time so that a frame finds the bars of its
 * window by binary search instead of looking at every bar.
 */
export class TimelineIndex {
  private readonly laneById = new Map<string, TimelineLane>();
  private readonly laneOrder: TimelineLane[] = [];
  private readonly barsByTask = new Map<string, TimelineBar[]>();
  private barCount = 0;
  /** Bumped on every change, so a view redraws only when something moved. */
  version = 0;

  constructor() {
    this.clear();
  }

  get size(): number {
    return this.barCount;
  }

  get lanes(): readonly TimelineLane[] {
    return this.laneOrder;
  }

  lane(id: string): TimelineLane | undefined {
    return this.laneById.get(id);
  }

  barsOf(taskKey: string): readonly TimelineBar[] {
    return this.barsByTask.get(taskKey) ?? [];
  }

  clear(): void {
    this.laneById.clear();
    this.laneOrder.length = 0;
    this.barsByTask.clear();
    this.barCount = 0;
    this.ensureLane(LOOP_LANE, Number.POSITIVE_INFINITY);
    this.version++;
  }

  /** Replaces the bars of one task with its attempts as the engine now reports them. */
  setAttempts(taskKey: string, attempts: readonly TaskAttempt[], task: BarTaskFacts): void {
    const previous = this.barsByTask.get(taskKey);
    const byAttempt = new Map<number, TimelineBar>();
    if (previous) for (const bar of previous) byAttempt.set(bar.attempt, bar);
    const next: TimelineBar[] = [];
    const sorted = inAttemptOrder(attempts);
    sorted.forEach((attempt, i) => {
      // An attempt that never reached a thread (refused by a remote machine) has no bar: an
      // existing one for it is removed below.
      const laneId = attempt.worker === null ? LOOP_LANE : threadLaneOf(attempt.worker);
      if (laneId === null) return;
      const isLast = i === sorted.length - 1;
      const before = i > 0 ? sorted[i - 1] : undefined;
      const existing = byAttempt.get(attempt.attempt);
      byAttempt.delete(attempt.attempt);
      const waitStart = waitStartOf(attempt, before, isLast, task, existing);
      const state = colourState(attempt, isLast, task.state);
      if (existing && (existing.laneId !== laneId || existing.start !== attempt.startedAt)) this.remove(existing);
      else if (existing) {
        this.update(existing, attempt.finishedAt, state, waitStart);
        next.push(existing);
        return;
      }
      const bar: TimelineBar = {
        taskKey,
        attempt: attempt.attempt,
        laneId,
        row: existing?.row ?? 0,
        waitStart,
        start: attempt.startedAt,
        end: attempt.finishedAt,
        state,
      };
      this.insert(bar, existing === undefined || existing.laneId !== laneId);
      next.push(bar);
    });
    for (const gone of byAttempt.values()) this.remove(gone);
    if (next.length > 0) this.barsByTask.set(taskKey, next);
    else this.barsByTask.delete(taskKey);
    this.version++;
  }

  /** Records which pool threads a telemetry sample lists: new ones get a lane, missing ones retire. */
  observeWorkers(at: number, threadIds: readonly (number | string)[]): void {
    const alive = new Set(threadIds.map((id) => workerId(id)!));
    let changed = false;
    for (const id of alive) {
      const lane = this.ensureLane(id, at);
      if (lane.retiredAt !== null) {
        lane.retiredAt = null;
        changed = true;
      }
    }
    for (const lane of this.laneOrder) {
      if (lane.kind === 'worker' && lane.retiredAt === null && !alive.has(lane.id)) {
        lane.retiredAt = at;
        changed = true;
      }
    }
    if (changed) this.version++;
  }

  /**
   * Records which remote machines a telemetry sample lists: the lanes of a machine it leaves
   * out, or calls lost, retire; they come back when the machine is heard from again. Lanes of
   * remote threads begin with their first bar (a machine announces how many threads it has,
   * not their names).
   */
  observeMachines(at: number, machines: readonly RemoteMachine[]): void {
    const alive = new Set(machines.filter((m) => m.state !== 'lost').map((m) => m.name));
    let changed = false;
    for (const lane of this.laneOrder) {
      if (lane.remote === null) continue;
      const isAlive = alive.has(lane.remote.machine);
      if (isAlive && lane.retiredAt !== null) {
        lane.retiredAt = null;
        changed = true;
      } else if (!isAlive && lane.retiredAt === null) {
        lane.retiredAt = at;
        changed = true;
      }
    }
    if (changed) this.version++;
  }

  /** Lanes with a thread alive or a bar somewhere in [t0, t1]; the loop lane always. */
  lanesIn(t0: number, t1: number): TimelineLane[] {
    return this.laneOrder.filter((lane) => {
      if (lane.kind === 'loop') return true;
      const last = lane.retiredAt === null ? Number.POSITIVE_INFINITY : Math.max(lane.retiredAt, lane.lastEnd);
      return lane.firstAt <= t1 && last >= t0 && (lane.bars.length > 0 || lane.retiredAt === null);
    });
  }

  /**
   * Calls `visit` for every bar of `lane` whose wait or run reaches into [t0, t1], in start
   * order; live bars last. Found by binary search: the cost follows the window, not the lane.
   */
  forEachIn(lane: TimelineLane, t0: number, t1: number, visit: (bar: TimelineBar) => void): number {
    const bars = lane.bars;
    const from = lowerBound(bars, t0 - lane.maxRun);
    const to = upperBound(bars, t1 + lane.maxWait);
    let visited = 0;
    for (let i = from; i < to; i++) {
      const bar = bars[i]!;
      if (bar.end === null) continue;
      if (bar.end < t0) continue;
      if (bar.waitStart > t1) continue;
      visit(bar);
      visited++;
    }
    for (const bar of lane.live) {
      if (bar.waitStart > t1) continue;
      visit(bar);
      visited++;
    }
    return visited;
  }

  /** The bar under time `t` in a lane's row, allowing `slackMs` either side; the latest wins. */
  barAt(laneId: string, row: number, t: number, slackMs: number, now: number): TimelineBar | null {
    const lane = this.laneById.get(laneId);
    if (!lane) return null;
    let found: TimelineBar | null = null;
    let best = Number.POSITIVE_INFINITY;
    const consider = (bar: TimelineBar): void => {
      if (bar.row !== row) return;
      const end = bar.end ?? now;
      const distance = t < bar.start ? bar.start - t : t > end ? t - end : 0;
      if (distance <= slackMs && distance <= best) {
        best = distance;
        found = bar;
      }
    };
    const bars = lane.bars;
    const to = lowerBound(bars, t + slackMs + 1e-9);
    for (let i = lowerBound(bars, t - slackMs - lane.maxRun); i < to; i++) if (bars[i]!.end !== null) consider(bars[i]!);
    for (const bar of lane.live) consider(bar);
    return found;
  }

  private ensureLane(id: string, at: number): TimelineLane {
    let lane = this.laneById.get(id);
    if (!lane) {
      const remote = remoteThread(id);
      lane = {
        id,
        kind: id === LOOP_LANE ? 'loop' : remote ? 'remote' : 'worker',
        remote,
        firstAt: at,
        retiredAt: null,
        bars: [],
        live: new Set(),
        rowCount: 1,
        rowFreeAt: [Number.NEGATIVE_INFINITY],
        maxRun: 0,
        maxWait: 0,
        lastEnd: Number.NEGATIVE_INFINITY,
      };
      this.laneById.set(id, lane);
      this.laneOrder.splice(lanePosition(this.laneOrder, lane), 0, lane);
      this.version++;
    } else if (at < lane.firstAt) {
      lane.firstAt = at;
    }
    return lane;
  }

  private insert(bar: TimelineBar, placeInRow: boolean): void {
    const lane = this.ensureLane(bar.laneId, bar.start);
    if (placeInRow) bar.row = lane.kind === 'loop' ? pickRow(lane, bar.start) : 0;
    const bars = lane.bars;
    const at = bars.length === 0 || bars[bars.length - 1]!.start <= bar.start ? bars.length : upperBound(bars, bar.start);
    if (at === bars.length) bars.push(bar);
    else bars.splice(at, 0, bar);
    this.barCount++;
    lane.maxWait = Math.max(lane.maxWait, bar.start - bar.waitStart);
    this.settle(lane, bar);
  }

  private update(bar: TimelineBar, end: number | null, state: TaskState, waitStart: number): void {
    const lane = this.laneById.get(bar.laneId)!;
    bar.end = end;
    bar.state = state;
    bar.waitStart = waitStart;
    lane.maxWait = Math.max(lane.maxWait, bar.start - waitStart);
    this.settle(lane, bar);
  }

  /** Keeps the live set, the row bookkeeping and the search bounds right after a bar changed. */
  private settle(lane: TimelineLane, bar: TimelineBar): void {
    if (bar.end === null) {
      lane.live.add(bar);
      lane.rowFreeAt[bar.row] = Number.POSITIVE_INFINITY;
      return;
    }
    lane.live.delete(bar);
    lane.maxRun = Math.max(lane.maxRun, bar.end - bar.start);
    lane.lastEnd = Math.max(lane.lastEnd, bar.end);
    if (lane.rowFreeAt[bar.row] === Number.POSITIVE_INFINITY || (lane.rowFreeAt[bar.row] ?? 0) < bar.end) {
      lane.rowFreeAt[bar.row] = bar.end;
    }
  }

  private remove(bar: TimelineBar): void {
    const lane = this.laneById.get(bar.laneId);
    if (!lane) return;
    const bars = lane.bars;
    for (let i = lowerBound(bars, bar.start); i < bars.length && bars[i]!.start <= bar.start; i++) {
      if (bars[i] === bar) {
        bars.splice(i, 1);
        this.barCount--;
        break;
      }
    }
    if (lane.live.delete(bar) && lane.rowFreeAt[bar.row] === Number.POSITIVE_INFINITY) lane.rowFreeAt[bar.row] = bar.start;
  }
}

/**
 * Where a new lane goes: the loop first, then the local threads as they came, then the remote
 * threads grouped by machine (machines by name, threads by number), so each machine's lanes
 * stay together under its header.
 */
function lanePosition(order: readonly TimelineLane[], lane: TimelineLane): number {
  if (lane.kind === 'loop') return 0;
  const firstRemote = order.findIndex((other) => other.remote !== null);
  if (lane.remote === null) return firstRemote === -1 ? order.length : firstRemote;
  const after = order.findIndex((other) => other.remote !== null && compareRemote(lane.remote!, other.remote) < 0);
  return after === -1 ? order.length : after;
}

const byName = new Intl.Collator('en', { numeric: true });

/** Machines by name, then threads by number (`build-07/2` before `build-07/10`). */
export function compareRemote(a: RemoteThread, b: RemoteThread): number {
  return byName.compare(a.machine, b.machine) || plainOrder(a.machine, b.machine) || byName.compare(a.thread, b.thread) || plainOrder(a.thread, b.thread);
}

/** Breaks the ties of names the collator finds equal (`build-7` and `build-07`): they must not mix. */
function plainOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function inAttemptOrder(attempts: readonly TaskAttempt[]): readonly TaskAttempt[] {
  for (let i = 1; i < attempts.length; i++) {
    if (attempts[i - 1]!.attempt > attempts[i]!.attempt) return [...attempts].sort((a, b) => a.attempt - b.attempt);
  }
  return attempts;
}

/** The first row free at `start`, else a new row, else (at the cap) the row that frees soonest. */
function pickRow(lane: TimelineLane, start: number): number {
  let soonest = 0;
  for (let row = 0; row < lane.rowCount; row++) {
    const freeAt = lane.rowFreeAt[row]!;
    if (freeAt <= start) return row;
    if (freeAt < lane.rowFreeAt[soonest]!) soonest = row;
  }
  if (lane.rowCount < MAX_LOOP_ROWS) {
    lane.rowFreeAt.push(Number.NEGATIVE_INFINITY);
    return lane.rowCount++;
  }
  return soonest;
}

function waitStartOf(
  attempt: TaskAttempt,
  before: TaskAttempt | undefined,
  isLast: boolean,
  task: BarTaskFacts,
  existing: TimelineBar | undefined,
): number {
  const start = attempt.startedAt;
  // The task's queuedAt is the queueing of its latest attempt (a retry resets it).
  if (isLast && task.queuedAt <= start && (before?.finishedAt == null || task.queuedAt >= before.finishedAt)) return task.queuedAt;
  if (existing && existing.waitStart < existing.start) return Math.min(existing.waitStart, start);
  if (before?.finishedAt != null && before.finishedAt <= start) return before.finishedAt;
  return start;
}

function colourState(attempt: TaskAttempt, isLast: boolean, taskState: TaskState): TaskState {
  if (attempt.finishedAt === null) return taskState === 'cancelling' ? 'cancelling' : 'running';
  if (attempt.state !== 'running' && attempt.state !== 'cancelling') return attempt.state;
  // The engine writes the outcome into the attempt a moment after its end.
  return isLast && taskState !== 'running' && taskState !== 'queued' && taskState !== 'cancelling' ? taskState : 'running';
}

/** First index whose bar starts at or after `t`. */
export function lowerBound(bars: readonly TimelineBar[], t: number): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bars[mid]!.start < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose bar starts after `t`. */
export function upperBound(bars: readonly TimelineBar[], t: number): number {
  let lo = 0;
  let hi = bars.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bars[mid]!.start <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
