import { cpus } from 'node:os';
import { BroadcastChannel, type ResourceLimits, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { BatchRequest, BatchResult, PoolWorkerData, WorkerEvent } from '../../shared/pool-protocol.js';
import { TaskStage } from '../../shared/pool-protocol.js';
import type { Executor, ExecutorListener, ReadySource } from './executor.js';
import { newJobId } from './ids.js';
import type { Task } from './task.js';
import { TaskSlots } from './task-slots.js';
import { KindTimings } from './kind-timings.js';
import type { WorkerSample } from '../../contract/telemetry.js';
import { CallServer, type CallServiceMap } from './call-services.js';
import { MemoryWatch, type MemoryLimits } from './memory-watch.js';
import type { TaskError } from '../../contract/records.js';
import { ThreadBusyMeter } from './thread-busy.js';
import { LogArrivals } from './log-arrivals.js';
import { threadEntryBeside } from './paths.js';
import { describeThreadLoss, printable } from './thread-reports.js';
import { PoolLanes, SPARE_THREADS } from './pool-lanes.js';

export interface PoolOptions {
  /** The built worker file piscina loads (`workers/entry.cjs`). */
  workerFile: string;
  /** Threads running tasks at once (lanes); default: one per CPU core. Two more wait as spares (see `PoolLanes`). */
  size?: number;
  /**
   * Start the spares with the pool (default), or run one spare only, started once work waits
   * behind busy lanes: for a short run (a CLI's job of a few tasks) that would pay for threads it
   * may never use, and that starts no more threads than it has tasks.
   */
  spareAhead?: boolean;
  resourceLimits?: ResourceLimits;
  /** Ceilings on memory outside the heap, per task and for the process (see `MemoryWatch`). */
  memoryLimits?: MemoryLimits;
  /** Async services pool tasks reach with `ctx.call`, besides the default ones. */
  services?: CallServiceMap;
}

interface Batch {
  /** Its tasks, in order; null where one was withdrawn (its slot is freed with the batch's end). */
  tasks: Array<Task | null>;
  abort: AbortController;
  /** The task slot of each task, in order. */
  slots: number[];
  /** Set once a thread has taken the batch. */
  worker: string | null;
  threadId: number | null;
  done: boolean;
  /** What piscina is handed; held back (see `waiting`) until a lane can take it. */
  request: BatchRequest;
  /** Handed to piscina (it may still be waiting in piscina's queue: see `queuedInPool`). */
  handed: boolean;
}

/**
 * Batches in flight per lane: one running and one built, waiting to be handed over the moment
 * its lane is free (see `handOver`).
 */
const PIPELINE_DEPTH = 2;
const MAX_BATCH = 64;
/**
 * Longest a task's end waits for log lines it posted that have not arrived. They come within a
 * few turns of the event loop; this bounds the wait only for a line lost some other way.
 */
const LOG_LINES_WAIT_MS = 2000;
/** Runs nothing: handed to piscina so that it offers its queue to the threads it has (see `offerQueue`). */
const EMPTY_BATCH: BatchRequest = { id: 0, tasks: [] };
const NEVER_ABORTED = new AbortController().signal;

/**
 * Runs sync kinds on a piscina pool. Tasks a kind has shown to be tiny travel in batches, so
 * that dispatch costs one message per batch instead of one per task.
 */
export class PoolExecutor implements Executor {
  readonly size: number;
  private readonly pool: Piscina<BatchRequest, BatchResult>;
  private readonly slots: TaskSlots;
  private readonly channel: BroadcastChannel;
  private readonly calls: CallServer;
  private readonly slotOf = new Map<Task, number>();
  private readonly batchOf = new Map<Task, Batch>();
  private readonly byKey = new Map<string, Task>();
  /** The task each slot was acquired for, while it is on this executor. */
  private readonly taskInSlot: Array<Task | undefined>;
  private readonly timings = new KindTimings();
  private readonly heapByThread = new Map<number, number>();
  /** The batch each thread took last; the memory watch asks which of its tasks runs. */
  private readonly batchOnThread = new Map<number, Batch>();
  /** Batches not ended yet, by `BatchRequest.id` (a `started` event may come after its batch's result). */
  private readonly liveBatches = new Map<number, Batch>();
  private lastBatchId = 0;
  /** Tasks whose thread the memory watch ended, and why. */
  private readonly memoryVerdicts = new Map<Task, TaskError>();
  readonly memory: MemoryWatch<Task>;
  private readonly busy = new ThreadBusyMeter();
  private readonly logArrivals: LogArrivals;
  private readonly lanes: PoolLanes;
  /** Threads besides the lanes: `SPARE_THREADS`, or one for a pool that starts it only when work waits. */
  private readonly spares: number;
  /** The spare starts only once work waits behind busy lanes (`PoolOptions.spareAhead` false). */
  private readonly spareWhenWaiting: boolean;
  /**
   * Batches handed to a thread whose task was told to stop (a cancel or timeout in its grace
   * period): while there is one, the lanes lend one more to the work queued behind (`PoolLanes.lend`).
   */
  private readonly stopping = new Set<Batch>();
  /** Threads this pool ended that the kernel still runs: no spare starts until they are gone (see `terminate`). */
  private readonly exiting = new Set<Worker>();
  /**
   * Batches built and not yet handed to piscina, in the engine's order (higher priority first,
   * then first admitted). piscina's queue does not keep order: a freed thread takes the queue's
   * head, and the next run, refused by `PoolLanes.balance` as every lane is busy, goes back to the
   * tail (a run with an abort signal goes to the tail of its skip queue; with `stricterFIFO`, a
   * new run refused at once goes to the head instead). So a batch is handed over only when a lane
   * takes it at once, and the next one as soon as a lane is free again.
   */
  private readonly waiting: Batch[] = [];
  /** Batches handed to piscina and not yet ended: never more than the lanes. */
  private handedCount = 0;
  /**
   * A batch handed over that no thread took at once (no lane was ready: the spares still boot
   * after a thread was ended): it waits in piscina's queue, and nothing more is handed over
   * until a thread has taken it, so that piscina never holds two to reorder.
   */
  private queuedInPool: Batch | null = null;
  private inFlight = 0;
  private batches = 0;
  private closed = false;

  constructor(
    options: PoolOptions,
    private readonly listener: ExecutorListener,
  ) {
    this.size = Math.max(1, options.size ?? cpus().length);
    this.lanes = new PoolLanes(this.size);
    this.spares = options.spareAhead === false ? 1 : SPARE_THREADS;
    this.spareWhenWaiting = options.spareAhead === false;
    this.slots = new TaskSlots(this.size * PIPELINE_DEPTH * MAX_BATCH + 64);
    this.taskInSlot = new Array<Task | undefined>(this.slots.size);
    this.logArrivals = new LogArrivals(this.slots.size, LOG_LINES_WAIT_MS);
    const channel = `threadline:${process.pid}:${newJobId()}`;
    this.channel = new BroadcastChannel(channel);
    this.channel.onmessage = (event) => this.onWorkerEvent((event as { data: WorkerEvent }).data);
    this.channel.unref();
    this.calls = new CallServer(channel, this.slots.size, options.services);
    const workerData: PoolWorkerData = {
      cancelFlags: this.slots.cancelFlagsBuffer,
      taskStages: this.slots.taskStagesBuffer,
      logCounts: this.logArrivals.postedBuffer,
      channel,
      callSignals: this.calls.signalsBuffer,
      callReplies: this.calls.replyChannelPrefix,
      keyRangeThreadFile: threadEntryBeside(options.workerFile, 'key-range-thread.js'),
    };
    this.pool = new Piscina({
      filename: options.workerFile,
      // Not `size + spares`: piscina tops a pool up to its minimum the moment it ends a
      // thread, and a spare's replacement may have to wait for the ended thread's exit (see `terminate`).
      minThreads: this.size,
      maxThreads: this.size + this.spares,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      loadBalancer: this.lanes.balance,
      resourceLimits: options.resourceLimits,
      workerData,
      recordTiming: false,
    });
    // A thread that dies with no task on it is replaced by piscina; nothing is lost.
    this.pool.on('error', () => {});
    this.pool.on('workerCreate', (thread: { id: number }) => this.lanes.ready(thread.id));
    this.pool.on('workerDestroy', (thread: { id: number }) => {
      this.lanes.ended(thread.id);
      this.forgetDeadThreads();
    });
    this.memory = new MemoryWatch<Task>(
      { running: () => this.runningTasks(), end: (task, error) => this.endForMemory(task, error) },
      options.memoryLimits,
      options.resourceLimits,
    );
    if (options.spareAhead !== false) this.startSpare();
  }

  fill(next: ReadySource): void {
    while (!this.closed && this.inFlight < this.size * PIPELINE_DEPTH && this.slots.available >= MAX_BATCH) {
      const first = next();
      if (!first) return;
      const batch: Task[] = [first];
      const limit = this.batchLimit(first);
      while (batch.length < limit) {
        const more = next({ accept: (task) => task.executor === 'pool' && this.timings.isTiny(task.kind), joining: true });
        if (!more) break;
        batch.push(more);
      }
      this.dispatch(batch);
    }
  }

  private batchLimit(first: Task): number {
    if (!this.timings.isTiny(first.kind)) return 1;
    return MAX_BATCH;
  }

  private dispatch(tasks: Task[]): void {
    this.listener.beginning(tasks);
    const request: BatchRequest = { id: ++this.lastBatchId, tasks: [] };
    // The batch's own copy: a withdrawn task's place in it becomes null.
    const batch: Batch = { tasks: [...tasks], slots: [], abort: new AbortController(), worker: null, threadId: null, done: false, request, handed: false };
    request.tasks = tasks.map((task) => {
      const slot = this.slots.acquire();
      batch.slots.push(slot);
      this.logArrivals.reset(slot);
      this.slotOf.set(task, slot);
      this.taskInSlot[slot] = task;
      this.batchOf.set(task, batch);
      this.byKey.set(task.key, task);
      return { key: task.key, kind: task.kind, input: task.input, attempt: task.attempts + 1, slot };
    });
    this.liveBatches.set(request.id, batch);
    this.inFlight++;
    this.batches++;
    this.wait(batch);
    this.handOver();
    // piscina would start a thread for a run no thread takes; none is handed it now, so the spare
    // of a pool that starts it only when work waits is started here.
    if (this.spareWhenWaiting && this.waiting.length > 0) this.startSpare();
  }

  /** Puts `batch` in line, after every batch the engine would run before it. */
  private wait(batch: Batch): void {
    const first = batch.tasks[0]!;
    let at = this.waiting.length;
    while (at > 0 && runsBefore(first, this.waiting[at - 1]!.tasks.find((task) => task !== null) ?? first)) at--;
    this.waiting.splice(at, 0, batch);
  }

  /** Hands piscina the waiting batches, first in line first, while a lane can take one at once. */
  private handOver(): void {
    while (!this.closed && this.queuedInPool === null && this.handedCount < this.lanes.working && this.waiting.length > 0) {
      const batch = this.waiting.shift()!;
      batch.handed = true;
      this.handedCount++;
      const placed = this.lanes.placing(() =>
        this.pool.run(batch.request, { signal: batch.abort.signal }).then(
          (result) => this.onBatchDone(batch, result),
          (error: unknown) => this.onBatchLost(batch, error),
        ),
      );
      if (!placed) this.queuedInPool = batch;
    }
  }

  /** `batch` left piscina's queue (a thread took it, or it ended): the next may be handed over. */
  private leftPoolQueue(batch: Batch): void {
    if (this.queuedInPool !== batch) return;
    this.queuedInPool = null;
    this.handOver();
  }

  /** Anything on the channel is untrusted (a user's script can post to it): check its shape. */
  private onWorkerEvent(event: WorkerEvent): void {
    if (typeof event !== 'object' || event === null) return;
    if (event.type === 'started') {
      if (typeof event.batch !== 'number' || typeof event.threadId !== 'number' || typeof event.at !== 'number') return;
      // Unknown: a batch that has ended already (its result came first), whose slots may now be
      // other tasks' that no thread has begun.
      const batch = this.liveBatches.get(event.batch);
      if (!batch) return;
      const worker = `w${event.threadId}`;
      batch.worker = worker;
      batch.threadId = event.threadId;
      this.batchOnThread.set(event.threadId, batch);
      this.busy.started(batch, event.threadId, event.at);
      this.leftPoolQueue(batch);
      // A task withdrawn from the batch has left its place (null): it may be in another batch by now.
      for (const task of batch.tasks) if (task) this.listener.started(task, worker, event.at);
      this.memory.wake();
    } else if (event.type === 'thread') {
      if (typeof event.threadId === 'number' && typeof event.tid === 'number') this.memory.threadStarted(event.threadId, event.tid);
    } else if (event.type === 'progress') {
      const task = this.byKey.get(event.key);
      const progress = typeof event.progress === 'number' && Number.isFinite(event.progress) ? event.progress : null;
      if (task) this.listener.progress(task, progress, typeof event.message === 'string' ? event.message : null);
    } else if (event.type === 'log') {
      const task = this.byKey.get(event.key);
      const level = event.level === 'warn' || event.level === 'error' ? event.level : 'info';
      const at = typeof event.at === 'number' && Number.isFinite(event.at) ? event.at : Date.now();
      if (!task) return;
      this.listener.log({ taskKey: task.key, at, level, message: printable(event.message) });
      const slot = this.slotOf.get(task);
      if (slot !== undefined) this.logArrivals.arrivedOne(slot);
    } else if (event.type === 'call') {
      // Only the running task in that slot may call (its thread waits on the slot's signal). A
      // call that crossed its task's stop on the way is not started: the task no longer waits for it.
      const task = this.byKey.get(event.key);
      if (task && this.slotOf.get(task) === event.slot && task.stopReason === null) this.calls.serve(event);
    }
  }

  private release(task: Task): void {
    const slot = this.slotOf.get(task);
    if (slot !== undefined) this.releaseSlot(slot);
    this.forget(task);
  }

  private releaseSlot(slot: number): void {
    this.taskInSlot[slot] = undefined;
    this.slots.release(slot);
  }

  /** What this executor knows of a task it no longer holds (its slot aside). */
  private forget(task: Task): void {
    this.slotOf.delete(task);
    this.batchOf.delete(task);
    this.byKey.delete(task.key);
    this.memoryVerdicts.delete(task);
  }

  private onBatchDone(batch: Batch, result: BatchResult): void {
    this.inFlight--;
    this.batchEnded(batch);
    // First of all: the thread is free, and the next batch in line goes to it now.
    this.handOver();
    const worker = `w${result.threadId}`;
    if (result.heapUsed !== null) this.heapByThread.set(result.threadId, result.heapUsed);
    const first = result.outcomes[0];
    const last = result.outcomes.at(-1);
    this.busy.finished(batch, result.threadId, first?.startedAt ?? null, last?.finishedAt ?? Date.now());
    for (const [index, outcome] of result.outcomes.entries()) {
      const task = batch.tasks[index];
      if (task) this.timings.record(task.kind, outcome.finishedAt - outcome.startedAt);
    }
    // The thread is free for its next batch from here; the tasks end once their lines are in.
    this.afterLogLines(batch, () =>
      result.outcomes.forEach((outcome, index) => {
        const task = batch.tasks[index];
        if (!task) return this.releaseSlot(batch.slots[index]!);
        this.release(task);
        const times = { startedAt: outcome.startedAt, finishedAt: outcome.finishedAt, worker };
        if (outcome.ok) this.listener.finished(task, { type: 'succeeded', result: outcome.result, ...times });
        else if (outcome.cancelled) this.listener.finished(task, { type: 'stopped', ...times });
        else this.listener.finished(task, { type: 'failed', error: outcome.error, ...times });
      }),
    );
  }

  /**
   * Runs `end` once every log line `tasks` posted has reached the engine (see `LogArrivals`), so
   * that a task is never recorded as ended while lines it wrote are still on their way. When the
   * wait runs out, each short task gets a warning line saying how many never came.
   */
  private afterLogLines(batch: Batch, end: () => void): void {
    this.logArrivals.whenArrived(batch.slots, (missing) => {
      const now = Date.now();
      for (const task of missing.size > 0 ? batch.tasks : []) {
        if (!task) continue;
        const count = missing.get(this.slotOf.get(task)!);
        if (count === undefined) continue;
        const message = `${count} log line${count === 1 ? '' : 's'} of this task never reached the engine before its end was recorded, and are lost`;
        this.listener.log({ taskKey: task.key, at: now, level: 'warn', message });
      }
      end();
    });
  }

  /** The batch's thread died (terminated on purpose, out of memory, exited) or it never ran. */
  private onBatchLost(batch: Batch, thrown: unknown): void {
    this.inFlight--;
    this.batchEnded(batch);
    const now = Date.now();
    this.busy.finished(batch, null, null, now);
    const worker = batch.worker ?? 'pool';
    // The batches in line go to a ready spare now, in order.
    this.handOver();
    this.offerQueue();
    // Lines a task posted before its thread died are still delivered: they are waited for too.
    this.afterLogLines(batch, () => this.endLostBatch(batch, thrown, now, worker));
  }

  private endLostBatch(batch: Batch, thrown: unknown, now: number, worker: string): void {
    for (const [index, task] of batch.tasks.entries()) {
      if (!task) {
        this.releaseSlot(batch.slots[index]!);
        continue;
      }
      const slot = this.slotOf.get(task);
      const stage = slot === undefined ? TaskStage.notStarted : this.slots.stage(slot);
      const verdict = this.memoryVerdicts.get(task);
      this.release(task);
      const times = { startedAt: task.startedAt ?? now, finishedAt: now, worker };
      if (task.stopReason !== null && stage !== TaskStage.succeeded) {
        // Told to stop, it stopped: an error it threw as its thread was ended is most likely its
        // stop (a cooperative one that ended as its grace ran out), not a failure of its own.
        this.listener.finished(task, { type: 'stopped', ...times });
      } else if (stage === TaskStage.succeeded || stage === TaskStage.failed) {
        // It ran to its end before the thread died; only its result or error went with the thread.
        // Running it again could repeat its side effects, so it is not.
        const lost = `the worker thread died after this task ended (${describeThreadLoss(thrown).message}), before its ${stage === TaskStage.succeeded ? 'result' : 'error'} reached the engine`;
        this.listener.log({ taskKey: task.key, at: now, level: 'warn', message: lost });
        if (stage === TaskStage.succeeded) this.listener.finished(task, { type: 'succeeded', result: null, ...times });
        else this.listener.finished(task, { type: 'failed', error: { code: 'RESULT_LOST', message: lost }, ...times });
      } else if (stage === TaskStage.running) {
        const error = verdict ?? describeThreadLoss(thrown);
        this.listener.finished(task, { type: 'failed', error, ...times });
      } else {
        this.listener.finished(task, { type: 'returned' });
      }
    }
  }

  /**
   * After a thread was ended. The batches in line go to the spares by `handOver`; but piscina
   * hands work in its own queue (a batch no thread took at once: `queuedInPool`) to a thread when
   * one becomes free or ready, not when one is taken away: that batch would wait for a new thread
   * to boot though a spare is idle. A run of an empty batch makes piscina look at its queue now
   * (it goes to an idle thread at once, and when that is done the queue follows). With no idle
   * thread (the spares still boot) there is nothing to offer the queue to, and the run would make
   * piscina start a thread: the queue goes to a spare when it is ready. Then the next spare is
   * started, or will be once the ended thread has exited.
   */
  private offerQueue(): void {
    if (this.closed) return;
    if (this.pool.idleThreads > 0 && this.queuedInPool !== null) this.pool.run(EMPTY_BATCH, { signal: NEVER_ABORTED }).catch(() => {});
    this.startSpare();
  }

  /**
   * Starts spares the pool lacks, unless a thread it ended is still exiting (see
   * `terminate`): a thread's boot (tens of milliseconds of a core) beside an ending thread's
   * teardown slows that exit on a machine of few cores. (Also tops up lanes piscina did not replace.)
   */
  private startSpare(): void {
    for (let started = 0; started < this.size + this.spares && !this.closed && this.exiting.size === 0; started++) {
      const threads = this.pool.threads.length;
      if (threads >= this.size + this.spares) return;
      this.lanes.startThread((signal) => this.pool.run(EMPTY_BATCH, { signal }).catch(() => {}));
      if (this.pool.threads.length === threads) return; // piscina is closing
    }
  }

  withdraw(task: Task): boolean {
    const slot = this.slotOf.get(task);
    const batch = this.batchOf.get(task);
    if (slot === undefined || !batch) return false;
    // The flag goes up before the stage is read, and the worker writes its stage before it reads
    // the flag: so either we see it started, or it sees the flag and skips the task.
    this.slots.raiseCancel(slot);
    if (this.slots.stage(slot) !== TaskStage.notStarted) return false;
    // The batch keeps the slot (its thread may still read the flag) until it ends; nothing it
    // says of that slot reaches the task, which is free to be handed over again.
    batch.tasks[batch.tasks.indexOf(task)] = null;
    this.taskInSlot[slot] = undefined;
    this.forget(task);
    return true;
  }

  requestStop(task: Task): void {
    const slot = this.slotOf.get(task);
    if (slot !== undefined) {
      this.slots.raiseCancel(slot);
      this.calls.abandon(slot);
    }
    // Its thread may stay busy to the end of the grace period: the work in line need not wait for it.
    const batch = this.batchOf.get(task);
    if (batch?.handed && !batch.done && !this.closed) {
      this.stopping.add(batch);
      this.lanes.lend(true);
      // Once the caller is done: a stop without a grace period ends the thread right after this
      // (`terminate`, which looks for a spare ready to take over), and the work in line follows as before.
      queueMicrotask(() => this.handOver());
    }
  }

  private batchEnded(batch: Batch): void {
    batch.done = true;
    this.liveBatches.delete(batch.request.id);
    if (batch.handed) this.handedCount--;
    // Ended, by itself or with its thread: the lane lent for it is taken back (the thread it went
    // to keeps its work; nothing more is handed over until the lanes are free).
    if (this.stopping.delete(batch)) this.lanes.lend(this.stopping.size > 0);
    if (this.queuedInPool === batch) this.queuedInPool = null;
    // The thread's next batch may have said it started before this one's result came back.
    if (batch.threadId !== null && this.batchOnThread.get(batch.threadId) === batch) this.batchOnThread.delete(batch.threadId);
  }

  /** The task each thread is running now (for the memory watch, a few times a second at most). */
  private runningTasks(): Array<{ threadId: number; task: Task }> {
    const running: Array<{ threadId: number; task: Task }> = [];
    for (const [threadId, batch] of this.batchOnThread) {
      if (batch.done) continue;
      for (const task of batch.tasks) {
        const slot = task ? this.slotOf.get(task) : undefined;
        if (task && slot !== undefined && this.slots.stage(slot) === TaskStage.running) {
          running.push({ threadId, task });
          break;
        }
      }
    }
    return running;
  }

  private endForMemory(task: Task, error: TaskError): void {
    this.memoryVerdicts.set(task, error);
    this.terminate(task);
  }

  terminate(task: Task): void {
    const batch = this.batchOf.get(task);
    if (!batch) return;
    if (!batch.handed) {
      // Still in line: no thread has it, so none is ended. It ends as a run piscina withdrew would.
      this.waiting.splice(this.waiting.indexOf(batch), 1);
      const reason = new Error(`task ${task.key} terminated`);
      queueMicrotask(() => this.onBatchLost(batch, reason));
      return;
    }
    const before = this.pool.threads;
    // piscina ends the batch's thread (if it has one) within this call.
    batch.abort.abort(new Error(`task ${task.key} terminated`));
    // With a thread ready for the work queued behind (a spare), the next spare waits for the
    // ended thread's exit. With none (the spares still boot), that work waits for a boot anyway:
    // the next spare starts at once, so that the next hard cancel is likelier to find one ready.
    if (this.pool.idleThreads === 0) return;
    const after = new Set(this.pool.threads);
    for (const thread of before) if (!after.has(thread)) this.untilExited(thread);
  }

  /** The next spare starts once `thread`, ended, has exited: the kernel no longer runs it. */
  private untilExited(thread: Worker): void {
    this.exiting.add(thread);
    thread.once('exit', () => {
      this.exiting.delete(thread);
      this.startSpare();
    });
  }

  /** Per-thread heap (from the last batch) and the share of time spent on batches since the last call. */
  workerStats(): WorkerSample[] {
    const threads = this.lanes.lanesOf(this.pool.threads);
    const shares = this.busy.read(threads.map((thread) => thread.threadId));
    return threads.map((thread) => ({
      threadId: thread.threadId,
      heapUsed: this.heapByThread.get(thread.threadId) ?? null,
      utilization: shares.get(thread.threadId) ?? 0,
    }));
  }

  private forgetDeadThreads(): void {
    const alive = new Set(this.pool.threads.map((thread) => thread.threadId));
    for (const id of this.heapByThread.keys()) if (!alive.has(id)) this.heapByThread.delete(id);
    for (const id of this.batchOnThread.keys()) if (!alive.has(id)) this.batchOnThread.delete(id);
    this.memory.forgetThreads(alive);
  }

  /** Messages sent to the pool so far, each a batch of one task or more. */
  get batchesSent(): number {
    return this.batches;
  }

  /** Threads that are lanes: the spares are not counted, and while one is replaced the lanes are whole. */
  get threadCount(): number {
    return Math.min(this.pool.threads.length, this.size);
  }

  /** Threads the pool has started and not ended, the spares (booting or ready) included. */
  get threadsWithSpare(): number {
    return this.pool.threads.length;
  }

  /** Threads ready and without work: the spares, once booted, and idle lanes. */
  get idleThreads(): number {
    return this.pool.idleThreads;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.logArrivals.close();
    this.memory.close();
    this.channel.close();
    this.calls.close();
    // Batches never handed over end as piscina ends those it still holds: their tasks never began.
    for (const batch of this.waiting.splice(0)) this.onBatchLost(batch, new Error('the pool is closing'));
    await this.pool.destroy();
  }
}

/** The engine's order (the ready queue's): higher priority first, then first admitted. */
function runsBefore(a: Task, b: Task): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}
