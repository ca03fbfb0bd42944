import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ResourceLimits } from 'node:worker_threads';
import type { TaskError } from '../../contract/records.js';
import { ranDuring } from './running-time.js';

/** Ceilings on memory the V8 heap limit does not count (Buffers, typed arrays, external strings, native memory). */
export interface MemoryLimits {
  /** What one pool task may hold outside its heap, in MiB. Default 2048. */
  taskExternalMb?: number;
  /** The whole process's resident memory, in MiB. Default: three quarters of the machine's (or its cgroup's) memory. */
  processMb?: number;
  /** How often memory is looked at while pool tasks run, in ms (sooner when a ceiling comes near). Default 250. */
  sampleMs?: number;
  /**
   * Whether a task's share is read from its thread's page faults (Linux's `/proc`); false watches
   * the process as a whole, as on other systems. Default: wherever `/proc` offers them.
   */
  perThreadCounters?: boolean;
}

/** What the watch needs from the pool: which task each thread runs now, and a way to end it. */
export interface WatchedPool<T> {
  running(): Array<{ threadId: number; task: T }>;
  /** Ends the task's thread; the task fails with `error`. */
  end(task: T, error: TaskError): void;
}

const MB = 1024 * 1024;
const DEFAULT_TASK_EXTERNAL_MB = 2048;
const DEFAULT_SAMPLE_MS = 250;
/** The soonest a sample follows the last one when memory grows fast toward a ceiling. */
const MIN_SAMPLE_MS = 20;
/** V8's young generation and code space, which `maxOldGenerationSizeMb` does not cover, when not set. */
const HEAP_BESIDES_OLD_MB = 64;
/** How long an ended task's thread may take to go (and give its memory back) before another task is judged. */
const VICTIM_GRACE_MS = 5000;

interface Watched {
  /** The thread's fault count and the process's resident size when the task was first seen. */
  startFaults: number | null;
  startRss: number;
  held: number;
  /** Bytes per millisecond over the last interval. */
  rate: number;
}

/**
 * Watches, from the main thread, the memory pool tasks bring into the process, and ends a task's
 * thread with `WORKER_OUT_OF_MEMORY` when it holds more than its ceiling, or when the process is
 * over its own and that task holds the most. A busy thread cannot report on itself, and Node 20
 * cannot read another thread's heap statistics, so on Linux a task's share is the memory its
 * thread faulted in since the task began (`minflt` of `/proc/self/task/<tid>/stat`, the tid
 * reported by each worker), capped by how much the process grew meanwhile: a task that frees what
 * it touches is not charged for it. Elsewhere the process's growth since the task began is its
 * share, which is exact while it runs alone. Samples are taken only while pool tasks run.
 */
export class MemoryWatch<T> {
  readonly taskLimit: number;
  readonly processLimit: number;
  private readonly externalLimit: number;
  private readonly sampleMs: number;
  private readonly pageSize: number | null;
  private readonly tidOf = new Map<number, number>();
  /** An open `/proc/self/task/<tid>/stat` per thread: read again from its start, it is current, at half the cost of opening it. */
  private readonly statFiles = new Map<number, number>();
  private readonly statBuffer = Buffer.alloc(1024);
  private readonly lastFaults = new Map<number, number>();
  private readonly tasks = new Map<T, Watched>();
  private lastRss = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** When the next look was set (`performance.now()`), and for how long after. */
  private scheduledAt = 0;
  private scheduledMs = 0;
  /** The task last ended, until its thread is gone (and its memory with it); `waitedMs`: the time the process ran since. */
  private victim: { task: T; tid: number | undefined; waitedMs: number } | null = null;

  constructor(
    private readonly pool: WatchedPool<T>,
    limits: MemoryLimits = {},
    heap: ResourceLimits = {},
  ) {
    this.externalLimit = (limits.taskExternalMb ?? DEFAULT_TASK_EXTERNAL_MB) * MB;
    const heapMb = (heap.maxOldGenerationSizeMb ?? 2048) + (heap.maxYoungGenerationSizeMb ?? 0) + (heap.codeRangeSizeMb ?? 0) + HEAP_BESIDES_OLD_MB;
    this.taskLimit = heapMb * MB + this.externalLimit;
    this.processLimit = limits.processMb !== undefined ? limits.processMb * MB : defaultProcessLimit();
    this.sampleMs = limits.sampleMs ?? DEFAULT_SAMPLE_MS;
    this.pageSize = limits.perThreadCounters === false ? null : linuxPageSize();
  }

  /** A worker thread said which kernel thread it is. The first word for a thread is kept. */
  threadStarted(threadId: number, tid: number): void {
    if (this.tidOf.has(threadId) || !Number.isSafeInteger(tid) || tid <= 0) return;
    this.tidOf.set(threadId, tid);
    // Its first task is about to begin: what the thread faulted in to start up is not that task's.
    const faults = this.faultsOf(tid);
    if (faults !== null) this.lastFaults.set(threadId, faults);
  }

  forgetThreads(alive: ReadonlySet<number>): void {
    for (const threadId of this.tidOf.keys()) {
      if (alive.has(threadId)) continue;
      this.forgetTid(this.tidOf.get(threadId)!);
      this.tidOf.delete(threadId);
      this.lastFaults.delete(threadId);
    }
  }

  private forgetTid(tid: number): void {
    const fd = this.statFiles.get(tid);
    if (fd === undefined) return;
    this.statFiles.delete(tid);
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to give back.
    }
  }

  /** Stops looking and lets go of the files it reads (the pool is closing). */
  close(): void {
    this.stop();
    for (const tid of [...this.statFiles.keys()]) this.forgetTid(tid);
  }

  /**
   * A pool task started: look from now on, until a look finds none running. Costs one check when
   * already looking; otherwise (after a quiet spell of at least one interval) a first look at
   * where things are.
   */
  wake(): void {
    if (this.timer !== null) return;
    this.lastRss = process.memoryUsage.rss();
    this.lastAt = Date.now();
    for (const [threadId, tid] of this.tidOf) {
      const faults = this.faultsOf(tid);
      if (faults !== null) this.lastFaults.set(threadId, faults);
    }
    this.schedule(this.sampleMs);
  }

  /** Nothing runs: no more looks until a task starts. An ended task's thread is still waited for then. */
  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.tasks.clear();
  }

  private schedule(delay: number): void {
    this.scheduledAt = performance.now();
    this.scheduledMs = delay;
    this.timer = setTimeout(() => this.sample(), delay);
    this.timer.unref();
  }

  /** One look: every running task's share, then at most one task ended. */
  sample(): void {
    this.timer = null;
    const waited = performance.now() - this.scheduledAt;
    // The ended thread could not go while the process did not run: that stretch is not counted.
    if (this.victim) this.victim.waitedMs += ranDuring(waited, this.scheduledMs);
    const running = this.pool.running();
    if (running.length === 0) {
      this.stop();
      return;
    }
    const rss = process.memoryUsage.rss();
    const now = Date.now();
    const elapsed = Math.max(1, now - this.lastAt);
    const seen = new Set<T>();
    for (const { threadId, task } of running) {
      seen.add(task);
      const tid = this.tidOf.get(threadId);
      const faults = tid === undefined ? null : this.faultsOf(tid);
      let watched = this.tasks.get(task);
      if (!watched) {
        // Begun since the last look: what its thread did since then is its own.
        watched = { startFaults: this.lastFaults.get(threadId) ?? faults, startRss: this.lastRss, held: 0, rate: 0 };
        this.tasks.set(task, watched);
      }
      const grown = rss - watched.startRss;
      const touched = faults !== null && watched.startFaults !== null ? (faults - watched.startFaults) * this.pageSize! : grown;
      const held = Math.max(0, Math.min(touched, grown));
      watched.rate = (held - watched.held) / elapsed;
      watched.held = held;
      if (faults !== null) this.lastFaults.set(threadId, faults);
    }
    for (const task of this.tasks.keys()) if (!seen.has(task)) this.tasks.delete(task);
    const processRate = (rss - this.lastRss) / elapsed;
    this.lastRss = rss;
    this.lastAt = now;

    if (this.victim && this.victimGone(seen)) this.victim = null;
    // One task at a time: once its thread is gone and its memory back, the others are judged again.
    if (!this.victim) this.judge(rss, running);
    this.schedule(this.nextDelay(rss, processRate));
  }

  /**
   * The engine hears of a terminated task before its thread has ended; its memory is given back
   * when the thread's isolate is disposed, so judging others before that would blame them for it.
   */
  private victimGone(seen: ReadonlySet<T>): boolean {
    const victim = this.victim!;
    if (victim.waitedMs > VICTIM_GRACE_MS) return true;
    if (seen.has(victim.task)) return false;
    if (victim.tid !== undefined && this.pageSize !== null) return !existsSync(`/proc/self/task/${victim.tid}`);
    return victim.waitedMs > VICTIM_GRACE_MS / 5;
  }

  private judge(rss: number, running: ReadonlyArray<{ threadId: number; task: T }>): void {
    let heaviest: [T, Watched] | null = null;
    for (const entry of this.tasks) if (!heaviest || entry[1].held > heaviest[1].held) heaviest = entry;
    if (!heaviest) return;
    const [task, { held }] = heaviest;
    let message: string | null = null;
    if (held > this.taskLimit) {
      message = `the task held about ${size(held)}, over its ceiling of ${size(this.taskLimit)} (its heap limit and ${size(this.externalLimit)} outside the heap)`;
    } else if (rss > this.processLimit && held >= this.processLimit / 100) {
      // Growth no pool task accounts for (the engine itself, loop tasks) is charged to none.
      message = `the process reached ${size(rss)}, over its ceiling of ${size(this.processLimit)}, and this task held the most (about ${size(held)})`;
    }
    if (message === null) return;
    const threadId = running.find((entry) => entry.task === task)?.threadId;
    this.victim = { task, tid: threadId === undefined ? undefined : this.tidOf.get(threadId), waitedMs: 0 };
    this.pool.end(task, { code: 'WORKER_OUT_OF_MEMORY', message: `the worker thread ran out of memory: ${message}` });
  }

  /** The regular interval, or sooner when a ceiling would be crossed before it at the present rate. */
  private nextDelay(rss: number, processRate: number): number {
    let delay = this.sampleMs;
    const soonest = (headroom: number, rate: number) => {
      if (rate > 0) delay = Math.min(delay, Math.max(MIN_SAMPLE_MS, headroom / rate));
    };
    soonest(this.processLimit - rss, processRate);
    for (const watched of this.tasks.values()) soonest(this.taskLimit - watched.held, watched.rate);
    return delay;
  }

  /** Minor page faults of one thread of this process, or null where that cannot be read. */
  private faultsOf(tid: number): number | null {
    if (this.pageSize === null) return null;
    try {
      let fd = this.statFiles.get(tid);
      if (fd === undefined) {
        fd = openSync(`/proc/self/task/${tid}/stat`, 'r');
        this.statFiles.set(tid, fd);
      }
      const stat = this.statBuffer.toString('latin1', 0, readSync(fd, this.statBuffer, 0, this.statBuffer.length, 0));
      // Fields after the command name, which may hold spaces and parentheses: state is the first, minflt the eighth.
      const minflt = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 8)[7]);
      return Number.isFinite(minflt) ? minflt : null;
    } catch {
      // The thread is gone (or /proc is not readable): nothing to count.
      this.forgetTid(tid);
      return null;
    }
  }
}

function defaultProcessLimit(): number {
  // A container's memory limit, where there is one, is the machine.
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  const machine = constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
  return Math.floor(machine * 0.75);
}

/** The page size, from the process's resident size in bytes and in pages; null where /proc is not there. */
function linuxPageSize(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const pages = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 22)[21]);
    const bytes = process.memoryUsage.rss();
    if (!(pages > 0)) return null;
    const sizes = [4096, 16384, 65536];
    return sizes.reduce((best, candidate) => (Math.abs(bytes - pages * candidate) < Math.abs(bytes - pages * best) ? candidate : best));
  } catch {
    return null;
  }
}

function size(bytes: number): string {
  return bytes >= 1024 * MB ? `${(bytes / 1024 / MB).toFixed(2)} GiB` : `${Math.round(bytes / MB)} MiB`;
}
