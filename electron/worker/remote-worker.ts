import { Worker as QueueWorker, type Job as QueueJob } from 'bullmq';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { TaskError } from '../../contract/records.js';
import type { ExecutorListener, ExecutorOutcome, ReadySource } from '../engine/executor.js';
import { Job } from '../engine/job.js';
import { defaultWorkerFile } from '../engine/paths.js';
import { PoolExecutor } from '../engine/pool-executor.js';
import { Task } from '../engine/task.js';
import { lastingConnection, type RedisTarget } from '../remote/redis-url.js';
import {
  ANNOUNCE_CHANNEL,
  ANNOUNCE_INTERVAL_MS,
  KEY_PREFIX,
  LINK_CUT_WINDOW_MS,
  LINK_PROBE_BYTES,
  LOCK_DURATION_MS,
  MAX_STALLED_COUNT,
  STALLED_INTERVAL_MS,
  STOP_CHANNEL,
  TASK_QUEUE,
  BATCH_KEYS_TTL_MS,
  batchResultsKey,
  batchStopKey,
  boundedText,
  readWire,
  remoteBatchSchema,
  remoteOutcomeSchema,
  remoteStopSchema,
  remoteTaskSchema,
  resultTooBig,
  resultTooBigError,
  stopKey,
  type RemoteBatchOutcome,
  type RemoteOutcome,
  type RemoteReport,
  type LinkCut,
  type RemoteTask,
  type WorkerAnnouncement,
} from '../remote/remote-protocol.js';
import { LinkWatch } from '../remote/link-watch.js';
import { WorkerNameLease, type NameHolder } from './worker-name-lease.js';
import { RefusedTask, WorkerRoot } from './worker-root.js';

/** How long a drained worker with nothing left to run waits for Redis to see it go. */
const DRAIN_AFTER_IDLE_MS = 3000;

export interface RemoteWorkerOptions {
  redis: RedisTarget;
  /** Threads of its pool, and tasks it takes at once. */
  threads: number;
  /** Its name on the queue (unique among the workers); its threads are `<name>/<thread>`. */
  name: string;
  /** The folder its tasks' paths must stay in. */
  root: string;
  /** The built pool worker file (default: the one beside the engine). */
  workerFile?: string;
  /** Hears once that another worker holds the name and this one waits for it to lapse. */
  onNameWait?: (holder: NameHolder | null) => void;
  /** Another worker took the name while this one could not reach Redis: this one should drain. */
  onNameLost?: () => void;
  /** It cannot keep its connections to Redis (with how often they were cut, and how), or they hold again (null). */
  onLinkCut?: (trouble: LinkCut | null) => void;
}

/** A task taken from the queue, on this worker's pool. */
interface Running {
  task: Task;
  queueJob: QueueJob;
  /** For a task in a batch: the batch's run, which says `started` once for all its tasks. */
  batch: { started: boolean; keys: string[] } | null;
  /** Its key in `byRemoteId` (the job id, with the task key for a task in a batch). */
  stopId: string;
  worker: string | null;
  done: (outcome: RemoteOutcome) => void;
}

/**
 * `threadline worker`: a host that embeds the same pool and handlers as the orchestrator, fed
 * by the BullMQ queue instead of an engine. It keeps no store: what it runs and how each task
 * ends goes back over Redis, and the orchestrator decides everything else.
 */
export class RemoteWorker {
  private readonly pool: PoolExecutor;
  private readonly queueWorker: QueueWorker;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  /** The queue's own connection, given to BullMQ so that its cuts are counted too. */
  private readonly queueClient: Redis;
  private readonly link: LinkWatch;
  /** The connection of the probe under way, if any: closed with the worker. */
  private probeClient: Redis | null = null;
  private readonly root: WorkerRoot;
  private readonly host = hostname();
  /** Tasks taken from the queue and not yet handed to a thread, oldest first. */
  private readonly waiting: Task[] = [];
  private readonly running = new Map<Task, Running>();
  private readonly byRemoteId = new Map<string, Running>();
  /** All tasks here belong to this stand-in job: jobs are the orchestrator's business. */
  private readonly job: Job;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private announceTimer: NodeJS.Timeout | null = null;
  private lease: WorkerNameLease | null = null;
  private state: WorkerAnnouncement['state'] = 'ready';
  private seq = 0;

  constructor(private readonly options: RemoteWorkerOptions) {
    this.root = new WorkerRoot(options.root);
    this.job = new Job('remote', options.name, null, 'continue', this.root.dir, Date.now());
    this.pool = new PoolExecutor({ workerFile: options.workerFile ?? defaultWorkerFile(), size: options.threads }, this.poolListener());
    const connection = lastingConnection(options.redis);
    this.commands = new Redis(connection);
    this.subscriber = new Redis(connection);
    this.queueClient = new Redis(connection);
    this.commands.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.queueClient.on('error', () => {});
    this.link = new LinkWatch((trouble) => this.linkChanged(trouble), Date.now, () => this.probeLink());
    for (const client of [this.commands, this.subscriber, this.queueClient]) this.link.watch(client);
    this.subscriber.on('message', (_channel, text) => this.onStop(text));
    void this.subscriber.subscribe(STOP_CHANNEL).catch(() => {});
    this.queueWorker = new QueueWorker(TASK_QUEUE, (job) => this.run(job), {
      connection: this.queueClient,
      prefix: KEY_PREFIX,
      concurrency: options.threads,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED_COUNT,
      // Only once the name is this worker's.
      autorun: false,
    });
    // A lost connection is retried; a lock this worker could not renew makes its task run elsewhere.
    this.queueWorker.on('error', () => {});
  }

  /** Takes its name on the queue (throws `NameTaken` if a live worker has it), then takes tasks. */
  async ready(): Promise<void> {
    try {
      this.lease = await WorkerNameLease.take(this.commands, this.options.name, { host: this.host, pid: process.pid }, { onWait: this.options.onNameWait });
    } catch (error) {
      await this.queueWorker.close(true).catch(() => {});
      await this.shutDown();
      throw error;
    }
    void this.queueWorker.run().catch(() => {});
    await this.queueWorker.waitUntilReady();
    this.loopDelay.enable();
    this.announce();
    this.announceTimer = setInterval(() => this.announce(), ANNOUNCE_INTERVAL_MS);
  }

  /** Takes no more tasks, lets those it has end (or go back to the queue), then lets go of everything. */
  async drain(): Promise<void> {
    this.state = 'draining';
    this.announce();
    // BullMQ's close waits for the running tasks, then for Redis; with Redis away that could be
    // forever, so once nothing runs here any more it gets a few seconds, then the lock is let go.
    const closed = this.queueWorker.close();
    await Promise.race([closed, this.idle().then(() => new Promise((resolve) => setTimeout(resolve, DRAIN_AFTER_IDLE_MS)))]);
    void this.queueWorker.close(true).catch(() => {});
    await this.shutDown();
  }

  private async idle(): Promise<void> {
    while (this.running.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private async shutDown(): Promise<void> {
    if (this.announceTimer) clearInterval(this.announceTimer);
    this.state = 'leaving';
    // Said if Redis is there to hear it; otherwise the orchestrators see it lost soon enough.
    const leaving = this.lease ? this.publish(ANNOUNCE_CHANNEL, this.announcement()).then(() => this.lease?.release()).catch(() => {}) : Promise.resolve();
    await Promise.race([leaving, new Promise((resolve) => setTimeout(resolve, 1000))]);
    this.loopDelay.disable();
    await this.pool.close();
    this.link.close();
    this.probeClient?.disconnect();
    this.subscriber.disconnect();
    this.commands.disconnect();
    this.queueClient.disconnect();
  }

  /**
   * A worker that cannot keep its connections takes no new task: one it took could not send its
   * end, and would wait on it while a worker with a sound link could run it. The tasks it holds
   * go on; one whose end cannot get through is found stalled once its lock lapses, and runs
   * again elsewhere (the orchestrator hears why from the announcements, which are small enough
   * to pass between cuts). It takes tasks again once its connections hold.
   */
  private linkChanged(trouble: LinkCut | null): void {
    this.options.onLinkCut?.(trouble);
    if (this.state !== 'ready') return;
    if (trouble) {
      void this.queueWorker.pause(true).catch(() => {});
      this.announce();
    } else void this.queueWorker.resume().catch(() => {});
  }

  /**
   * Sends the link probe on a connection of its own, made for it and closed after it, never sent
   * again: on the command connection, over a link still cutting, it would be cut and sent again
   * after each reconnect, forever, with the announcements and name renewals waiting behind it. A
   * cut of its connection is counted as any other, so the worker stays cut off and probes again
   * only after the next quiet window.
   */
  private async probeLink(): Promise<void> {
    if (this.state === 'leaving') throw new Error('the worker is leaving');
    const client = new Redis({
      ...this.options.redis.options,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      // A link that swallows the probe without cutting it holds up no later probe.
      commandTimeout: LINK_CUT_WINDOW_MS,
    });
    client.on('error', () => {});
    const letGo = this.link.watch(client);
    this.probeClient = client;
    try {
      await client.connect();
      await client.echo('x'.repeat(LINK_PROBE_BYTES));
      letGo();
    } finally {
      client.disconnect();
      if (this.probeClient === client) this.probeClient = null;
    }
  }

  private announcement(): WorkerAnnouncement {
    const linkCut = this.link.current();
    const p99 = this.loopDelay.count > 0 ? this.loopDelay.percentile(99) / 1e6 : 0;
    this.loopDelay.reset();
    return {
      name: this.options.name,
      host: this.host,
      threads: this.options.threads,
      running: this.running.size,
      state: this.state,
      rssBytes: process.memoryUsage.rss(),
      loopDelayP99Ms: Math.round(p99 * 10) / 10,
      ...(linkCut ? { linkCut } : {}),
    };
  }

  private announce(): void {
    void this.publish(ANNOUNCE_CHANNEL, this.announcement()).catch(() => {});
    void this.lease
      ?.renew()
      .then((held) => {
        if (held || this.state !== 'ready') return;
        this.options.onNameLost?.();
      })
      .catch(() => {});
  }

  private async publish(channel: string, message: unknown): Promise<void> {
    await this.commands.publish(channel, JSON.stringify(message));
  }

  /** One queue job: one task, or a batch of them, run on the pool; the outcome is the job's return value. */
  private async run(queueJob: QueueJob): Promise<RemoteOutcome | RemoteBatchOutcome> {
    if (typeof queueJob.data === 'object' && queueJob.data !== null && 'tasks' in queueJob.data) return this.runBatch(queueJob);
    const now = Date.now();
    const data = readWire(remoteTaskSchema, queueJob.data);
    if (!data) return failed({ code: 'REMOTE_BAD_TASK', message: 'the queue held a task this worker cannot read (is the orchestrator the same Threadline version?)' }, this.options.name);
    if (await this.commands.get(stopKey(queueJob.id!))) return { type: 'stopped', startedAt: now, finishedAt: now, worker: this.options.name };
    let input: Record<string, unknown>;
    try {
      input = this.root.confine(data.kind, data.input);
    } catch (error) {
      if (error instanceof RefusedTask) return failed({ code: error.code, message: error.message }, this.options.name);
      throw error;
    }
    const outcome = await new Promise<RemoteOutcome>((done) => {
      this.take(this.taskOf(data, input, now), queueJob, null, queueJob.id!, done);
      this.pool.fill(this.nextWaiting);
    });
    return bounded(outcome);
  }

  /**
   * A batch of tasks of tiny kinds. Each task's outcome is kept on Redis as it ends: if this
   * worker is lost, the batch runs again elsewhere and skips what already ended, so a task that
   * succeeded is not run twice. Stops asked before the batch was taken are read once, here.
   */
  private async runBatch(queueJob: QueueJob): Promise<RemoteBatchOutcome | RemoteOutcome> {
    const now = Date.now();
    const data = readWire(remoteBatchSchema, queueJob.data);
    if (!data) return failed({ code: 'REMOTE_BAD_TASK', message: 'the queue held a batch this worker cannot read (is the orchestrator the same Threadline version?)' }, this.options.name);
    const batchId = queueJob.id!;
    const [[, stored], [, stops]] = (await this.commands.multi().hgetall(batchResultsKey(batchId)).hgetall(batchStopKey(batchId)).exec()) as [[unknown, Record<string, string>], [unknown, Record<string, string>]];
    const outcomes: Record<string, RemoteOutcome> = {};
    const ends: Array<Promise<unknown>> = [];
    // Outcomes that end together (a local batch of the pool) go to Redis in one write.
    let unsaved: Record<string, string> | null = null;
    const keep = (key: string, outcome: RemoteOutcome) => {
      outcomes[key] = outcome;
      if (unsaved) {
        unsaved[key] = JSON.stringify(outcome);
        return;
      }
      unsaved = { [key]: JSON.stringify(outcome) };
      ends.push(
        new Promise((resolve) => setImmediate(resolve)).then(() => {
          const fields = unsaved!;
          unsaved = null;
          return this.commands.multi().hset(batchResultsKey(batchId), fields).pexpire(batchResultsKey(batchId), BATCH_KEYS_TTL_MS).exec();
        }),
      );
    };
    const toRun: Array<{ wire: RemoteTask; input: Record<string, unknown> }> = [];
    for (const wire of data.tasks) {
      const earlier = readWire(remoteOutcomeSchema, stored[wire.taskKey]);
      if (earlier) outcomes[wire.taskKey] = earlier;
      else if (stops[wire.taskKey]) keep(wire.taskKey, { type: 'stopped', startedAt: now, finishedAt: now, worker: this.options.name });
      else {
        try {
          toRun.push({ wire, input: this.root.confine(wire.kind, wire.input) });
        } catch (error) {
          if (!(error instanceof RefusedTask)) throw error;
          keep(wire.taskKey, failed({ code: error.code, message: error.message }, this.options.name));
        }
      }
    }
    const batch = { started: false, keys: toRun.map((t) => t.wire.taskKey) };
    const running = toRun.map(
      ({ wire, input }) =>
        new Promise<void>((resolve) => {
          this.take(this.taskOf(wire, input, now), queueJob, batch, `${batchId}\n${wire.taskKey}`, (outcome) => {
            keep(wire.taskKey, bounded(outcome));
            resolve();
          });
        }),
    );
    this.pool.fill(this.nextWaiting);
    await Promise.all(running);
    await Promise.all(ends);
    return { type: 'batch', outcomes };
  }

  private taskOf(wire: RemoteTask, input: Record<string, unknown>, now: number): Task {
    const task = new Task(this.job, wire.taskKey, wire.taskKey, this.seq++, wire.kind, 'pool', input, 0, null, 0, 0, [], now);
    task.attempts = wire.attempt - 1;
    return task;
  }

  private take(task: Task, queueJob: QueueJob, batch: Running['batch'], stopId: string, done: Running['done']): void {
    const running: Running = { task, queueJob, batch, stopId, worker: null, done };
    this.running.set(task, running);
    this.byRemoteId.set(stopId, running);
    this.waiting.push(task);
  }

  /** The pool takes the oldest waiting task, if it wants it (a batch takes only tiny ones). */
  private readonly nextWaiting: ReadySource = (request) => {
    const task = this.waiting[0];
    if (!task || (request?.accept && !request.accept(task))) return null;
    return this.waiting.shift()!;
  };

  private report(task: Task, report: RemoteReport): void {
    const running = this.running.get(task);
    if (!running) return;
    if (running.batch && report.type !== 'started') report = { ...report, key: task.key };
    void running.queueJob.updateProgress(report).catch(() => {});
  }

  private poolListener(): ExecutorListener {
    return {
      beginning: () => {},
      // Its own pool never runs a task again by itself.
      interrupted: () => {},
      started: (task, worker, at) => {
        const running = this.running.get(task);
        if (!running) return;
        running.worker = this.threadName(worker);
        if (!running.batch) this.report(task, { type: 'started', worker: running.worker, at });
        else if (!running.batch.started) {
          // One message starts the whole batch, as the local pool's batches start.
          running.batch.started = true;
          this.report(task, { type: 'started', worker: running.worker, at, keys: running.batch.keys });
        }
      },
      progress: (task, progress, message) => this.report(task, { type: 'progress', progress, message: message === null ? null : boundedText(message) }),
      log: (line) => {
        const task = [...this.running.keys()].find((t) => t.key === line.taskKey);
        if (task) this.report(task, { type: 'log', at: line.at, level: line.level, message: boundedText(line.message) });
      },
      finished: (task, outcome) => this.finished(task, outcome),
    };
  }

  private finished(task: Task, outcome: ExecutorOutcome): void {
    const running = this.running.get(task);
    if (!running) return;
    if (outcome.type === 'returned') {
      // Its batch was torn down before it began (another task's thread was ended): it runs next.
      this.waiting.unshift(task);
      this.pool.fill(this.nextWaiting);
      return;
    }
    this.running.delete(task);
    this.byRemoteId.delete(running.stopId);
    running.done({ ...outcome, worker: this.threadName(outcome.worker) });
    // A batch's next tasks wait here: the room this one left is theirs.
    if (this.waiting.length > 0) this.pool.fill(this.nextWaiting);
  }

  /** `w3` (the pool's name of a thread) is `build-07/3` on the wire. */
  private threadName(poolWorker: string): string {
    return `${this.options.name}/${poolWorker.replace(/^w/, '')}`;
  }

  /** A stop request for one of this worker's tasks: the soft flag, or the end of its thread. */
  private onStop(text: string): void {
    const stop = readWire(remoteStopSchema, text);
    const running = stop ? this.byRemoteId.get(stop.taskKey === undefined ? stop.remoteJobId : `${stop.remoteJobId}\n${stop.taskKey}`) : undefined;
    if (!stop || !running) return;
    const task = running.task;
    task.stopReason ??= 'cancel';
    const queued = this.waiting.indexOf(task);
    if (queued >= 0) {
      this.waiting.splice(queued, 1);
      this.running.delete(task);
      this.byRemoteId.delete(running.stopId);
      running.done({ type: 'stopped', startedAt: Date.now(), finishedAt: Date.now(), worker: this.options.name });
    } else if (stop.mode === 'soft') this.pool.requestStop(task);
    else this.pool.terminate(task);
  }
}

/** A success whose result is over the wire's limit fails instead. */
function bounded(outcome: RemoteOutcome): RemoteOutcome {
  if (outcome.type !== 'succeeded') return outcome;
  const tooBig = resultTooBig(outcome.result);
  return tooBig ? { type: 'failed', error: resultTooBigError(tooBig.bytes), startedAt: outcome.startedAt, finishedAt: outcome.finishedAt, worker: outcome.worker } : outcome;
}

function failed(error: TaskError, worker: string): RemoteOutcome {
  const now = Date.now();
  return { type: 'failed', error, startedAt: now, finishedAt: now, worker };
}
