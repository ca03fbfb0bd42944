import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { TaskError } from '../../contract/records.js';
import type { RemoteMachine } from '../../contract/telemetry.js';
import type { Executor, ExecutorListener, ExecutorOutcome, ReadySource } from '../engine/executor.js';
import type { Task } from '../engine/task.js';
import { lastingConnection, type RedisTarget } from './redis-url.js';
import {
  ANNOUNCE_CHANNEL,
  KEY_PREFIX,
  STOP_CHANNEL,
  STOP_KEY_TTL_MS,
  TASK_QUEUE,
  readWire,
  remoteJobId,
  remoteOutcomeSchema,
  remoteReportSchema,
  resultTooBig,
  resultTooBigError,
  stopKey,
  workerAnnouncementSchema,
  type RemoteOutcome,
  type RemoteStop,
  type RemoteTask,
} from './remote-protocol.js';
import { WorkerRoster } from './worker-roster.js';

/** One task handed to Redis and not yet back. */
interface InFlight {
  task: Task;
  attempt: number;
  /** The BullMQ job followed: this attempt's, or an earlier one still on Redis (after a restart). */
  remoteId: string;
  /** Set once the job is on the queue. */
  queued: boolean;
  /** `<worker name>/<thread>` of its latest start. */
  worker: string | null;
  /** When its worker was found lost, until the task begins again elsewhere. */
  interruptedAt: number | null;
  ended: boolean;
}

/**
 * Tasks on Redis per announced thread: one running, one waiting behind it, so that a thread
 * takes its next task as it ends one, without a round trip through the orchestrator first.
 */
const TASKS_PER_THREAD = 2;
/** How often the state of every task on Redis is read, in case an event was missed (a Redis restart, a gap in the stream). */
const RECONCILE_MS = 1000;
/** Completed tasks stay on Redis this long, so that an orchestrator restarted meanwhile takes their results instead of running them again. */
const KEEP_FINISHED = { age: 24 * 3600, count: 100_000 };
/** How long closing waits for Redis before it cuts the connections. */
const CLOSE_WAIT_MS = 2000;
/** How long a terminated task's worker has to confirm its end before the task is taken as stopped. */
const TERMINATE_WAIT_MS = 3000;
const STALLED_TOO_OFTEN = /stalled more than allowable limit/i;

/**
 * Runs sync kinds on `threadline worker` processes through a BullMQ queue. It never puts more
 * tasks on Redis than two per thread the live workers announced: the rest wait in the engine's
 * ready queue, where priorities, dependencies and per-job caps still decide what goes next.
 */
export class RemoteExecutor implements Executor {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly clients: Redis[];
  private readonly roster = new WorkerRoster();
  private readonly byTask = new Map<Task, InFlight>();
  private readonly byRemoteId = new Map<string, InFlight>();
  private readonly reconcileTimer: NodeJS.Timeout;
  private lastSource: ReadySource | null = null;
  private reconciling = false;
  private closed = false;

  constructor(
    target: RedisTarget,
    private readonly listener: ExecutorListener,
    /**
     * True when the orchestrator keeps no pool of its own (`--workers 0`): a task pinned to it
     * (`runOn: local`) is then taken here only to fail, saying why, instead of waiting forever.
     */
    private readonly alone = false,
  ) {
    const connection = lastingConnection(target);
    // Connections of its own, given to BullMQ, so that it can cut them even when Redis is away.
    this.clients = [0, 1, 2, 3].map(() => new Redis(connection));
    for (const client of this.clients) client.on('error', () => {});
    const [queueClient, eventsClient, commands, subscriber] = this.clients as [Redis, Redis, Redis, Redis];
    this.queue = new Queue(TASK_QUEUE, { connection: queueClient, prefix: KEY_PREFIX });
    this.events = new QueueEvents(TASK_QUEUE, { connection: eventsClient, prefix: KEY_PREFIX });
    this.commands = commands;
    this.subscriber = subscriber;
    // A connection that drops is retried by ioredis; its errors are not the engine's to report.
    this.queue.on('error', () => {});
    this.events.on('error', () => {});
    this.events.on('progress', ({ jobId, data }) => this.onReport(jobId, data));
    this.events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) => this.onFailed(jobId, failedReason));
    this.events.on('stalled', ({ jobId }) => this.onStalled(jobId));
    this.subscriber.on('message', (_channel, text) => this.onAnnouncement(text));
    void this.subscriber.subscribe(ANNOUNCE_CHANNEL).catch(() => {});
    this.reconcileTimer = setInterval(() => void this.reconcile(), RECONCILE_MS);
    this.reconcileTimer.unref();
  }

  /** Resolves once the queue and its events are connected (tests and benchmarks wait for it). */
  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  fill(next: ReadySource): void {
    this.lastSource = next;
    const fresh: InFlight[] = [];
    while (!this.closed && this.byTask.size < this.roster.threads * TASKS_PER_THREAD) {
      const task = next(this.alone ? undefined : { accept: runsAnywhere });
      if (!task) break;
      if (task.runOn === 'local') this.refuseLocal(task);
      else if (task.attempts === 0) fresh.push(this.hand(task));
      else {
        const entry = this.hand(task);
        this.settle(entry, this.enqueue(entry));
      }
    }
    // Tasks that never ran go on the queue together, in one round trip.
    if (fresh.length > 0) {
      const queued = this.queued(fresh);
      for (const entry of fresh) this.settle(entry, queued);
    }
  }


  /** The workers that announced themselves, and what they run of ours. */
  machines(): RemoteMachine[] {
    return this.roster.machines((name) => {
      let running = 0;
      for (const entry of this.byTask.values()) if (entry.worker?.startsWith(`${name}/`)) running++;
      return running;
    });
  }

  /** A task on Redis may be taken by a worker at any moment: it cannot be withdrawn here (`requestStop` removes it if no worker has it). */
  withdraw(): boolean {
    return false;
  }

  requestStop(task: Task): void {
    const entry = this.byTask.get(task);
    if (!entry) return;
    void this.stop(entry, 'soft').catch(() => {});
  }

  terminate(task: Task): void {
    const entry = this.byTask.get(task);
    if (!entry) return;
    void this.stop(entry, 'hard').catch(() => {});
    // The engine waits for this task's end: with its worker or Redis gone, no end would come.
    setTimeout(() => {
      if (entry.ended) return;
      const now = Date.now();
      this.listener.log({ taskKey: task.key, at: now, level: 'warn', message: `no word from ${entry.worker ?? 'the workers'} ${TERMINATE_WAIT_MS / 1000} s after it was told to end the task: it is taken as stopped, and anything it still sends about it is ignored` });
      this.end(entry, { type: 'stopped', startedAt: task.startedAt ?? now, finishedAt: now, worker: entry.worker ?? 'remote' });
    }, TERMINATE_WAIT_MS).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.reconcileTimer);
    // Closing waits for Redis; with Redis away it is cut short, so that a shutdown never hangs on it.
    const closed = Promise.allSettled([this.events.close(), this.queue.close()]);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    for (const client of this.clients) client.disconnect();
  }

  private refuseLocal(task: Task): void {
    const message = 'the task has runOn: local, but this orchestrator keeps no pool of its own (--workers 0); give it one with --workers N';
    this.listener.finished(task, failedOutcome({ code: 'NO_LOCAL_POOL', message }, 'remote'));
  }

  private hand(task: Task): InFlight {
    const attempt = task.attempts + 1;
    // No `beginning`: that marks tasks a crash of this process could be blamed on, and a task
    // running on another machine cannot crash this one (its result is bounded); after a crash it
    // is resumed like any interrupted task, not as a suspect run alone.
    const entry: InFlight = { task, attempt, remoteId: remoteJobId(task.key, attempt), queued: false, worker: null, interruptedAt: null, ended: false };
    this.byTask.set(task, entry);
    this.byRemoteId.set(entry.remoteId, entry);
    return entry;
  }

  /** A task that could not be put on the queue fails, saying why. */
  private settle(entry: InFlight, queued: Promise<void>): void {
    queued.catch((error: unknown) => {
      if (this.closed) return; // the engine has shut down: the store keeps the task for a resume
      this.end(entry, failedOutcome({ code: 'REMOTE_QUEUE_ERROR', message: `could not put the task on the Redis queue: ${messageOf(error)}` }));
    });
  }

  private async queued(entries: InFlight[]): Promise<void> {
    await this.queue.addBulk(entries.map((entry) => ({ name: 'task', data: this.wireTask(entry), opts: { jobId: entry.remoteId, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED } })));
    for (const entry of entries) entry.queued = true;
  }

  private wireTask(entry: InFlight): RemoteTask {
    return { taskKey: entry.task.key, kind: entry.task.kind, input: entry.task.input, attempt: entry.attempt };
  }

  private async enqueue(entry: InFlight): Promise<void> {
    // A task that ran before (an earlier attempt, or an orchestrator that stopped meanwhile) may
    // still be on Redis: a success stands, and one still running is followed, not started twice.
    if (entry.task.attempts > 0 && (await this.adoptEarlier(entry))) return;
    if (entry.ended) return;
    await this.queue.add('task', this.wireTask(entry), { jobId: entry.remoteId, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED });
    entry.queued = true;
  }

  /** True when an earlier attempt on Redis decides this one: it succeeded, or it is still there to be followed. */
  private async adoptEarlier(entry: InFlight): Promise<boolean> {
    for (let attempt = entry.attempt; attempt >= 1; attempt--) {
      const id = remoteJobId(entry.task.key, attempt);
      const state = await this.queue.getJobState(id);
      if (state === 'completed') {
        const job = await this.queue.getJob(id);
        const outcome = readWire(remoteOutcomeSchema, job?.returnvalue);
        if (outcome?.type !== 'succeeded') continue;
        this.listener.log({ taskKey: entry.task.key, at: Date.now(), level: 'info', message: `attempt ${attempt} had already succeeded on ${outcome.worker}: its result is kept, the task is not run again` });
        this.end(entry, outcome);
        return true;
      }
      if (state === 'active' || state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
        this.follow(entry, id);
        entry.queued = true;
        return true;
      }
    }
    return false;
  }

  private follow(entry: InFlight, remoteId: string): void {
    this.byRemoteId.delete(entry.remoteId);
    entry.remoteId = remoteId;
    this.byRemoteId.set(remoteId, entry);
  }

  private async stop(entry: InFlight, mode: RemoteStop['mode']): Promise<void> {
    const message: RemoteStop = { remoteJobId: entry.remoteId, mode };
    // Kept in a key too: a worker that takes the task after the message went out still sees it.
    await this.commands.set(stopKey(entry.remoteId), mode, 'PX', STOP_KEY_TTL_MS);
    await this.commands.publish(STOP_CHANNEL, JSON.stringify(message));
    if (mode === 'soft' && entry.queued && !entry.ended) {
      // Not yet taken by a worker: it leaves the queue and never begins.
      const removed = await this.queue.remove(entry.remoteId).catch(() => 0);
      if (removed === 1) this.end(entry, { type: 'returned' });
    }
  }

  private onReport(remoteId: string, data: unknown): void {
    const entry = this.byRemoteId.get(remoteId);
    const report = readWire(remoteReportSchema, data);
    if (!entry || entry.ended || !report) return;
    const task = entry.task;
    if (report.type === 'started') {
      this.closeInterrupted(entry);
      entry.worker = report.worker;
      this.listener.started(task, report.worker, report.at);
    } else if (report.type === 'progress') {
      this.listener.progress(task, report.progress, report.message);
    } else {
      this.listener.log({ taskKey: task.key, at: report.at, level: report.level, message: report.message });
    }
  }

  /** Ends the engine's attempt of a task whose worker was lost, now that it runs (or ran) again. */
  private closeInterrupted(entry: InFlight): void {
    if (entry.interruptedAt === null) return;
    this.listener.interrupted(entry.task, entry.interruptedAt);
    entry.interruptedAt = null;
  }

  private onCompleted(remoteId: string, value: unknown): void {
    const entry = this.byRemoteId.get(remoteId);
    if (!entry || entry.ended) return;
    this.closeInterrupted(entry);
    const outcome = readWire(remoteOutcomeSchema, value);
    if (!outcome) {
      this.end(entry, failedOutcome({ code: 'REMOTE_BAD_REPLY', message: 'the worker sent back an outcome that is not one (is it the same Threadline version?)' }, entry.worker));
      return;
    }
    if (outcome.type === 'succeeded') {
      // The worker checks the size too; this side does not trust it to.
      const tooBig = resultTooBig(outcome.result);
      if (tooBig) {
        this.end(entry, { type: 'failed', error: resultTooBigError(tooBig.bytes), startedAt: outcome.startedAt, finishedAt: outcome.finishedAt, worker: outcome.worker });
        return;
      }
    }
    this.end(entry, outcome);
  }

  private onFailed(remoteId: string, reason: string): void {
    const entry = this.byRemoteId.get(remoteId);
    if (!entry || entry.ended) return;
    if (STALLED_TOO_OFTEN.test(reason)) {
      this.end(entry, failedOutcome({ code: 'WORKER_CRASHED', message: 'the workers running this task were lost twice while it ran (killed, out of memory, or cut off from Redis): it is taken for the cause and not run again' }, entry.worker));
    } else {
      this.end(entry, failedOutcome({ code: 'REMOTE_ERROR', message: `the worker could not run the task: ${reason}` }, entry.worker));
    }
  }

  /** Its worker stopped renewing its lock (killed, or cut off): BullMQ queues the task again, for another worker. */
  private onStalled(remoteId: string): void {
    const entry = this.byRemoteId.get(remoteId);
    if (!entry || entry.ended) return;
    const where = entry.worker ?? 'a worker';
    const at = Date.now();
    // The attempt is closed as interrupted when the task begins again elsewhere; if it is not
    // run again (lost twice), the failure ends that same attempt.
    entry.interruptedAt ??= at;
    this.listener.log({
      taskKey: entry.task.key,
      at,
      level: 'warn',
      message: `attempt ${entry.attempt} was interrupted: ${where} stopped answering (killed, or cut off from Redis); the first time, the task runs again on another worker, the second it fails`,
    });
    entry.worker = null;
  }

  private onAnnouncement(text: string): void {
    const announcement = readWire(workerAnnouncementSchema, text);
    if (announcement && this.roster.heard(announcement) && this.lastSource) this.fill(this.lastSource);
  }

  /** Reads the state of every task on Redis: an outcome whose event was lost still arrives, a task Redis lost is queued again. */
  private async reconcile(): Promise<void> {
    if (this.reconciling || this.closed) return;
    this.reconciling = true;
    try {
      if (this.lastSource) this.fill(this.lastSource); // workers lost or found since the last fill
      for (const entry of [...this.byTask.values()]) {
        if (!entry.queued || entry.ended) continue;
        const state = await this.queue.getJobState(entry.remoteId);
        if (entry.ended) continue;
        if (state === 'completed' || state === 'failed') {
          const job = await this.queue.getJob(entry.remoteId);
          if (!job || entry.ended) continue;
          if (state === 'completed') this.onCompleted(entry.remoteId, job.returnvalue);
          else this.onFailed(entry.remoteId, job.failedReason ?? 'failed');
        } else if (state === 'unknown') {
          entry.queued = false;
          await this.enqueue(entry);
        }
      }
    } catch {
      // Redis is away: the next round tries again.
    } finally {
      this.reconciling = false;
    }
  }

  private end(entry: InFlight, outcome: ExecutorOutcome | RemoteOutcome): void {
    if (entry.ended) return;
    entry.ended = true;
    this.byTask.delete(entry.task);
    this.byRemoteId.delete(entry.remoteId);
    this.listener.finished(entry.task, outcome);
    if (this.lastSource) this.fill(this.lastSource);
  }
}

function runsAnywhere(task: Task): boolean {
  return task.runOn !== 'local';
}

function failedOutcome(error: TaskError, worker: string | null = null): ExecutorOutcome {
  const now = Date.now();
  return { type: 'failed', error, startedAt: now, finishedAt: now, worker: worker ?? 'remote' };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
