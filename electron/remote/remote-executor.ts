import { Queue, QueueEvents, Worker as QueueWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { HostNotice } from '../../contract/api.js';
import { machineNameProblem } from '../../contract/machine-names.js';
import type { TaskError } from '../../contract/records.js';
import type { RemoteMachine } from '../../contract/telemetry.js';
import type { Executor, ExecutorListener, ExecutorOutcome, ReadySource } from '../engine/executor.js';
import { KindTimings } from '../engine/kind-timings.js';
import { RunningClock } from '../engine/running-time.js';
import type { Task } from '../engine/task.js';
import { lastingConnection, redisProblem, type RedisTarget } from './redis-url.js';
import {
  ANNOUNCE_CHANNEL,
  BATCH_KEYS_TTL_MS,
  KEY_PREFIX,
  LINK_CUT_WINDOW_MS,
  LOCK_DURATION_MS,
  LOST_AFTER_MS,
  MAX_REMOTE_BATCH,
  MAX_STALLED_COUNT,
  STALLED_INTERVAL_MS,
  STOP_CHANNEL,
  STOP_KEY_TTL_MS,
  TASK_QUEUE,
  batchPointerKey,
  batchResultsKey,
  batchStopKey,
  isBatchId,
  MAX_ANNOUNCED_THREADS,
  readWire,
  remoteBatchOutcomeSchema,
  remoteJobId,
  remoteOutcomeSchema,
  remoteReportSchema,
  resultTooBig,
  resultTooBigError,
  stopKey,
  parseWire,
  workerAnnouncementSchema,
  announcementUnderAnyNameSchema,
  type LinkCut,
  type RemoteBatch,
  type RemoteOutcome,
  type RemoteStop,
  type RemoteTask,
} from './remote-protocol.js';
import { CutOffWorkers } from './cut-off-workers.js';
import { JobHeldElsewhere, JobLeases } from './job-leases.js';
import { LinkWatch } from './link-watch.js';
import { RefusedWorkers } from './refused-workers.js';
import { TurnedAwayWorkers } from './turned-away-workers.js';
import { ROSTER_LIMITS, WorkerRoster, type RosterLimits } from './worker-roster.js';

/** One task handed to Redis and not yet back. */
interface InFlight {
  task: Task;
  attempt: number;
  /** The BullMQ job followed: this attempt's, its batch's, or an earlier one still on Redis (after a restart). */
  remoteId: string;
  /** Set once the job is on the queue. */
  queued: boolean;
  /** `<worker name>/<thread>` of its latest start. */
  worker: string | null;
  /** When it was handed to Redis: a machine cut off since may be why it stalled. */
  handedAt: number;
  /** The machine of its latest start, kept when it is found stalled (unlike `worker`). */
  ranOn: string | null;
  /** When its worker was found lost, until the task begins again elsewhere. */
  interruptedAt: number | null;
  /** How many times Redis had been away when it was handed out: one more since means its stalls may be Redis's doing. */
  redisOutages: number;
  ended: boolean;
}

/**
 * Jobs on Redis per announced thread: one running, one waiting behind it, so that a thread
 * takes its next job as it ends one, without a round trip through the orchestrator first. A job
 * is one task, or a batch of up to MAX_REMOTE_BATCH tasks of kinds proven tiny.
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
/** How long Redis may be away before people are told (a blip of a reconnect is not news). */
const REDIS_AWAY_NOTICE_MS = 2000;
/** A round of reconciling unanswered this long means Redis is there but does not answer (stopped, or a link that drops packets). */
const REDIS_SILENT_MS = 3000;

/**
 * Runs sync kinds on `threadline worker` processes through a BullMQ queue. It never puts more
 * jobs on Redis than two per thread the live workers announced: the rest wait in the engine's
 * ready queue, where priorities, dependencies and per-job caps still decide what goes next.
 * Kinds whose tasks have proven tiny (as the local pool judges them, from the times the workers
 * report) travel in batches, one job for many tasks, so that the queue's cost per job does not
 * dominate theirs.
 */
export class RemoteExecutor implements Executor {
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  /**
   * Looks for tasks whose worker stopped renewing their locks, as every worker does: a worker
   * whose link cuts its connections may still renew nothing and end nothing, and if it is the
   * only one, no one else would look. Its 'stalled' events come through `events` like theirs.
   */
  private readonly stallCheck: QueueWorker;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly clients: Redis[];
  private readonly roster: WorkerRoster;
  /** The time this process ran: a silence of workers counts only while it could hear them. */
  private readonly clock = new RunningClock();
  /** Workers heard under names the orchestrator refuses: not in the roster, but told of in a notice. */
  private readonly refused = new RefusedWorkers();
  /** Workers heard under good names but not taken (the roster full, too many threads claimed): told of in a notice. */
  private readonly turnedAway: TurnedAwayWorkers;
  /** Workers that say they cannot keep their connections to Redis: told of in a notice. */
  private readonly cutOff = new CutOffWorkers();
  /**
   * Counts this orchestrator's own connections cut once connected: a link that cuts them keeps
   * Redis "reachable" (each connection comes back at once) while a command bigger than it lets
   * through (a task put on the queue) never gets there; that is Redis out of reach, told as such.
   */
  private readonly link = new LinkWatch((trouble) => this.linkChanged(trouble));
  /** The jobs whose tasks this orchestrator sends out, held on Redis so that no other orchestrator sends the same ones. */
  private readonly jobs: JobLeases;
  private readonly byTask = new Map<Task, InFlight>();
  /** The tasks following each BullMQ job: one, or a batch's. */
  private readonly byRemoteId = new Map<string, InFlight[]>();
  private readonly timings = new KindTimings();
  private readonly reconcileTimer: NodeJS.Timeout;
  private lastSource: ReadySource | null = null;
  private reconciling = false;
  private reconcileStartedAt = 0;
  private closed = false;
  /** Since when the connection to Redis has been lost (after it was up once), and whether people were told. */
  private redisAway: { since: number; told: boolean; timer: NodeJS.Timeout } | null = null;
  /** The last reason the connection gave for failing. */
  private redisReason = 'the connection was lost';
  private redisWasReady = false;
  /** Whether this orchestrator's own connections to Redis keep being cut (`link`). */
  private linkCut = false;
  /** Times the connection to Redis was lost after it was up. */
  private redisOutages = 0;

  constructor(
    private readonly target: RedisTarget,
    private readonly listener: ExecutorListener,
    /**
     * True when the orchestrator keeps no pool of its own (`--workers 0`): a task pinned to it
     * (`runOn: local`) is then taken here only to fail, saying why, instead of waiting forever.
     */
    private readonly alone = false,
    /** How many machines are kept and how long a lost one stays (tests shorten the while). */
    limits: RosterLimits = ROSTER_LIMITS,
  ) {
    this.roster = new WorkerRoster(Date.now, limits, () => this.clock.now());
    this.turnedAway = new TurnedAwayWorkers(limits.maxMachines);
    const connection = lastingConnection(target);
    // Connections of its own, given to BullMQ, so that it can cut them even when Redis is away.
    this.clients = [0, 1, 2, 3, 4].map(() => new Redis(connection));
    for (const client of this.clients) client.on('error', () => {});
    for (const client of this.clients) this.link.watch(client);
    const [queueClient, eventsClient, commands, subscriber, stallClient] = this.clients as [Redis, Redis, Redis, Redis, Redis];
    this.queue = new Queue(TASK_QUEUE, { connection: queueClient, prefix: KEY_PREFIX });
    this.events = new QueueEvents(TASK_QUEUE, { connection: eventsClient, prefix: KEY_PREFIX });
    // Takes no task (no processor, never run): it only runs the stalled-job check.
    this.stallCheck = new QueueWorker(TASK_QUEUE, undefined, { connection: stallClient, prefix: KEY_PREFIX, autorun: false, lockDuration: LOCK_DURATION_MS, stalledInterval: STALLED_INTERVAL_MS, maxStalledCount: MAX_STALLED_COUNT });
    this.stallCheck.on('error', () => {});
    // Started here, not in `ready()`: the hosts (run, serve, the desktop app) never wait for that.
    void this.stallCheck
      .waitUntilReady()
      .then(() => (this.closed ? undefined : this.stallCheck.startStalledCheckTimer()))
      .catch(() => {});
    this.commands = commands;
    this.subscriber = subscriber;
    this.jobs = new JobLeases(commands, () => new Set([...this.byTask.keys()].map((task) => task.job.id)));
    // Redis going away mid-run is a condition of the host: tasks sent to workers wait for it.
    commands.on('error', (error: unknown) => {
      // While the link cuts the connections, that is the reason, not how each cut looked.
      if (!this.linkCut) this.redisReason = redisProblem(error);
    });
    commands.on('close', () => this.redisLost());
    commands.on('ready', () => this.redisBack());
    // A connection that drops is retried by ioredis; its errors are not the engine's to report.
    this.queue.on('error', () => {});
    this.events.on('error', () => {});
    this.events.on('progress', ({ jobId, data }) => this.onReport(jobId, data));
    this.events.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, returnvalue));
    this.events.on('failed', ({ jobId, failedReason }) => void this.onFailed(jobId, failedReason));
    this.events.on('stalled', ({ jobId }) => this.onStalled(jobId));
    this.subscriber.on('message', (_channel, text) => this.onAnnouncement(text));
    void this.subscriber.subscribe(ANNOUNCE_CHANNEL).catch(() => {});
    this.reconcileTimer = setInterval(() => void this.reconcile(), RECONCILE_MS);
    this.reconcileTimer.unref();
  }

  /** Resolves once the queue and its events are connected (tests and benchmarks wait for it). */
  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady(), this.stallCheck.waitUntilReady()]);
  }

  fill(next: ReadySource): void {
    this.lastSource = next;
    const fresh: InFlight[] = [];
    const batches: InFlight[][] = [];
    while (!this.closed && this.byRemoteId.size < this.roster.threads * TASKS_PER_THREAD) {
      const task = next(this.alone ? undefined : { accept: runsAnywhere });
      if (!task) break;
      if (task.runOn === 'local') this.refuseLocal(task);
      else if (task.attempts > 0) {
        const entry = this.hand(task);
        this.settle([entry], this.enqueue(entry));
      } else if (this.timings.isTiny(task.kind)) {
        const group = [task];
        const tiny = (t: Task) => runsAnywhere(t) && t.attempts === 0 && this.timings.isTiny(t.kind);
        while (group.length < MAX_REMOTE_BATCH) {
          const more = next({ accept: tiny, joining: true });
          if (!more) break;
          group.push(more);
        }
        if (group.length === 1) fresh.push(this.hand(task));
        else batches.push(this.handBatch(group));
      } else fresh.push(this.hand(task));
    }
    // Tasks that never ran go on the queue together, in one round trip.
    if (fresh.length > 0 || batches.length > 0) this.settle([...fresh, ...batches.flat()], this.queued(fresh, batches));
  }

  /** The workers that announced themselves, and what they run of ours. */
  machines(): RemoteMachine[] {
    return this.roster.machines(this.runningOn());
  }

  /**
   * How many of this orchestrator's tasks run on each machine now, counted in one pass over the
   * tasks (not once per machine), so that a sample costs machines plus tasks, not their product.
   */
  private runningOn(): (name: string) => number {
    const counts = new Map<string, number>();
    for (const entry of this.byTask.values()) {
      const slash = entry.worker?.indexOf('/') ?? -1;
      if (slash <= 0) continue; // not yet on a thread, or refused by a machine before a thread took it
      const machine = entry.worker!.slice(0, slash);
      counts.set(machine, (counts.get(machine) ?? 0) + 1);
    }
    return (name) => counts.get(name) ?? 0;
  }

  /** Workers announcing themselves under a refused name, while they do. */
  notices(): HostNotice[] {
    const notices: HostNotice[] = [];
    const away = this.redisAway;
    if (away?.told) {
      notices.push({
        code: 'REDIS_UNREACHABLE',
        since: away.since,
        message: `Redis at ${this.target.shown} cannot be reached (${this.redisReason}): the tasks on remote workers wait for it, and no other is sent; the connection is tried again every second`,
      });
    }
    const refused = this.refused.notice();
    if (refused) notices.push(refused);
    const turnedAway = this.turnedAway.notice();
    if (turnedAway) notices.push(turnedAway);
    const cutOff = this.cutOff.notice();
    if (cutOff) notices.push(cutOff);
    return notices;
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
    this.link.close();
    this.clock.close();
    if (this.redisAway) clearTimeout(this.redisAway.timer);
    clearInterval(this.reconcileTimer);
    // Closing waits for Redis; with Redis away it is cut short, so that a shutdown never hangs on it.
    const closed = Promise.allSettled([this.jobs.close(), this.events.close(), this.queue.close(), this.stallCheck.close(true)]);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    for (const client of this.clients) client.disconnect();
  }

  private redisLost(): void {
    if (this.closed || !this.redisWasReady || this.redisAway) return;
    this.redisOutages++;
    const away = {
      since: Date.now(),
      told: false,
      timer: setTimeout(() => {
        away.told = true;
        this.listener.noticesChanged?.();
      }, REDIS_AWAY_NOTICE_MS),
    };
    away.timer.unref();
    this.redisAway = away;
  }

  private linkChanged(trouble: LinkCut | null): void {
    this.linkCut = trouble !== null;
    if (!trouble) {
      this.redisBack();
      return;
    }
    this.redisReason = `its connections keep being cut: ${trouble.cuts} within ${LINK_CUT_WINDOW_MS / 1000} s, the last ${trouble.reason}; is a VPN or a proxy between here and Redis cutting them?`;
    this.redisLost();
  }

  private redisBack(): void {
    this.redisWasReady = true;
    // A connection that comes back only to be cut again is not Redis back.
    if (this.link.current()) return;
    const away = this.redisAway;
    if (!away) return;
    clearTimeout(away.timer);
    this.redisAway = null;
    if (away.told) this.listener.noticesChanged?.();
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
    const entry: InFlight = { task, attempt, remoteId: remoteJobId(task.key, attempt), queued: false, worker: null, interruptedAt: null, redisOutages: this.redisOutages, ended: false, handedAt: Date.now(), ranOn: null };
    this.byTask.set(task, entry);
    this.follow(entry, entry.remoteId);
    return entry;
  }

  private handBatch(tasks: Task[]): InFlight[] {
    const batchId = `batch.${randomUUID()}`;
    return tasks.map((task) => {
      const entry = this.hand(task);
      this.follow(entry, batchId);
      return entry;
    });
  }

  /** Tasks that could not be put on the queue fail, saying why. */
  private settle(entries: InFlight[], queued: Promise<void>): void {
    queued.catch((error: unknown) => {
      if (this.closed) return; // the engine has shut down: the store keeps the task for a resume
      for (const entry of entries) this.end(entry, failedOutcome({ code: 'REMOTE_QUEUE_ERROR', message: `could not put the task on the Redis queue: ${messageOf(error)}` }));
    });
  }

  /**
   * Holds the jobs of these tasks on Redis before any goes on the queue; the tasks of a job
   * another orchestrator holds fail, naming it (see `job-leases.ts`).
   */
  private async claimJobs(entries: InFlight[]): Promise<void> {
    const jobIds = [...new Set(entries.map((entry) => entry.task.job.id))];
    const claims = await Promise.allSettled(jobIds.map((jobId) => this.jobs.claim(jobId)));
    claims.forEach((claim, index) => {
      if (claim.status === 'fulfilled') return;
      if (!(claim.reason instanceof JobHeldElsewhere)) throw claim.reason;
      const message = `could not put the task on the Redis queue: ${claim.reason.message}`;
      for (const entry of entries) if (entry.task.job.id === jobIds[index]) this.end(entry, failedOutcome({ code: 'REMOTE_QUEUE_ERROR', message }));
    });
  }

  private async queued(allSingles: InFlight[], batches: InFlight[][]): Promise<void> {
    await this.claimJobs([...allSingles, ...batches.flat()]);
    const singles = allSingles.filter((entry) => !entry.ended);
    const jobs = singles.map((entry) => ({ name: 'task', data: this.wireTask(entry) as RemoteTask | RemoteBatch, opts: { jobId: entry.remoteId, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED } }));
    const live = batches.map((group) => group.filter((entry) => !entry.ended)).filter((group) => group.length > 0);
    const carried = live.length > 0 ? await this.claimForBatches(live) : [];
    for (const group of carried) jobs.push({ name: 'batch', data: { tasks: group.map((entry) => this.wireTask(entry)) }, opts: { jobId: group[0]!.remoteId, removeOnComplete: KEEP_FINISHED, removeOnFail: KEEP_FINISHED } });
    await this.queue.addBulk(jobs);
    for (const entry of [...singles, ...carried.flat()]) entry.queued = true;
  }

  /**
   * Points each batched task's attempt at its batch, unless it already points at one: then an
   * earlier run of this orchestrator put it on Redis before it stopped, and that batch is
   * followed instead of running the task twice. Returns the batches left to queue.
   */
  private async claimForBatches(batches: InFlight[][]): Promise<InFlight[][]> {
    const claim = this.commands.pipeline();
    const entries = batches.flat();
    for (const entry of entries) claim.set(batchPointerKey(remoteJobId(entry.task.key, entry.attempt)), entry.remoteId, 'PX', BATCH_KEYS_TTL_MS, 'NX', 'GET');
    const replies = (await claim.exec()) ?? [];
    entries.forEach((entry, index) => {
      const [error, earlier] = replies[index] ?? [null, null];
      if (error) throw error;
      if (typeof earlier === 'string' && earlier !== entry.remoteId) {
        this.follow(entry, earlier);
        entry.queued = true; // the reconciling reads its state, and takes its outcome if it ended
      }
    });
    return batches.map((group) => group.filter((entry) => !entry.queued && !entry.ended && isBatchId(entry.remoteId))).filter((group) => group.length > 0);
  }

  private wireTask(entry: InFlight): RemoteTask {
    return { taskKey: entry.task.key, kind: entry.task.kind, input: entry.task.input, attempt: entry.attempt };
  }

  private async enqueue(entry: InFlight): Promise<void> {
    await this.claimJobs([entry]);
    if (entry.ended) return;
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
      let id = remoteJobId(entry.task.key, attempt);
      let state = await this.queue.getJobState(id);
      if (state === 'unknown') {
        // It may have travelled in a batch: the batch's record of it decides.
        const batchId = await this.commands.get(batchPointerKey(id));
        if (!batchId) continue;
        const kept = readWire(remoteOutcomeSchema, await this.commands.hget(batchResultsKey(batchId), entry.task.key));
        if (kept?.type === 'succeeded') {
          this.listener.log({ taskKey: entry.task.key, at: Date.now(), level: 'info', message: `attempt ${attempt} had already succeeded on ${kept.worker}: its result is kept, the task is not run again` });
          this.end(entry, kept);
          return true;
        }
        if (kept) continue;
        id = batchId;
        state = await this.queue.getJobState(id);
        if (state === 'completed') {
          const job = await this.queue.getJob(id);
          const outcome = readWire(remoteOutcomeSchema, readWire(remoteBatchOutcomeSchema, job?.returnvalue)?.outcomes[entry.task.key]);
          if (outcome?.type !== 'succeeded') continue;
          this.listener.log({ taskKey: entry.task.key, at: Date.now(), level: 'info', message: `attempt ${attempt} had already succeeded on ${outcome.worker}: its result is kept, the task is not run again` });
          this.end(entry, outcome);
          return true;
        }
      }
      if (state === 'completed') {
        const job = await this.queue.getJob(id);
        const outcome = readWire(remoteOutcomeSchema, job?.returnvalue);
        if (outcome?.type !== 'succeeded') continue;
        this.listener.log({ taskKey: entry.task.key, at: Date.now(), level: 'info', message: `attempt ${attempt} had already succeeded on ${outcome.worker}: its result is kept, the task is not run again` });
        this.end(entry, outcome);
        return true;
      }
      if (state === 'active' || state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
        // Stalled too often, it is only there to fail (the orchestrator ended it, then takes it
        // off the queue): a retry that followed it would take that failure for its own.
        if ((await this.queue.getJob(id))?.deferredFailure) continue;
        this.follow(entry, id);
        entry.queued = true;
        return true;
      }
    }
    return false;
  }

  private follow(entry: InFlight, remoteId: string): void {
    this.unfollow(entry);
    entry.remoteId = remoteId;
    const followers = this.byRemoteId.get(remoteId);
    if (followers) followers.push(entry);
    else this.byRemoteId.set(remoteId, [entry]);
  }

  private unfollow(entry: InFlight): void {
    const followers = this.byRemoteId.get(entry.remoteId);
    if (!followers) return;
    const at = followers.indexOf(entry);
    if (at >= 0) followers.splice(at, 1);
    if (followers.length === 0) this.byRemoteId.delete(entry.remoteId);
  }

  /** The tasks following a job that have not ended. */
  private following(remoteId: string): InFlight[] {
    return (this.byRemoteId.get(remoteId) ?? []).filter((entry) => !entry.ended);
  }

  private async stop(entry: InFlight, mode: RemoteStop['mode']): Promise<void> {
    if (isBatchId(entry.remoteId)) {
      // Only this task of the batch stops; one that was not taken yet is skipped where the batch runs.
      await this.commands.multi().hset(batchStopKey(entry.remoteId), entry.task.key, mode).pexpire(batchStopKey(entry.remoteId), STOP_KEY_TTL_MS).exec();
      await this.commands.publish(STOP_CHANNEL, JSON.stringify({ remoteJobId: entry.remoteId, taskKey: entry.task.key, mode } satisfies RemoteStop));
      return;
    }
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
    const report = readWire(remoteReportSchema, data);
    if (!report) return;
    const followers = this.following(remoteId);
    if (report.type === 'started' && report.keys) {
      const keys = new Set(report.keys);
      for (const entry of followers) {
        if (!keys.has(entry.task.key)) continue;
        this.closeInterrupted(entry);
        entry.worker = report.worker;
        entry.ranOn = machineOf(report.worker);
        this.listener.started(entry.task, report.worker, report.at);
      }
      return;
    }
    const entry = report.type !== 'started' && report.key !== undefined ? followers.find((e) => e.task.key === report.key) : followers[0];
    if (!entry) return;
    const task = entry.task;
    if (report.type === 'started') {
      this.closeInterrupted(entry);
      entry.worker = report.worker;
      entry.ranOn = machineOf(report.worker);
      this.listener.started(task, report.worker, report.at);
    } else if (report.type === 'progress') {
      this.listener.progress(task, report.progress, report.message);
    } else {
      this.listener.log({ taskKey: task.key, at: report.at, level: report.level, message: report.message });
    }
  }

  /**
   * Ends the engine's attempt of a task whose worker was lost, now that it runs (or ran) again.
   * A task of a batch that had ended before its worker was lost was not interrupted: its outcome
   * (kept on Redis, not run again) ends the attempt.
   */
  private closeInterrupted(entry: InFlight, outcome?: RemoteOutcome | null): void {
    if (entry.interruptedAt === null) return;
    if (!outcome || outcome.finishedAt > entry.interruptedAt) this.listener.interrupted(entry.task, entry.interruptedAt);
    entry.interruptedAt = null;
  }

  private onCompleted(remoteId: string, value: unknown): void {
    const followers = this.following(remoteId);
    if (followers.length === 0) return;
    if (isBatchId(remoteId)) {
      const batch = readWire(remoteBatchOutcomeSchema, value);
      // A worker that could not read the batch at all ends it with one outcome, for all its tasks.
      for (const entry of followers) this.taskCompleted(entry, batch ? batch.outcomes[entry.task.key] : value);
    } else this.taskCompleted(followers[0]!, value);
  }

  private taskCompleted(entry: InFlight, value: unknown): void {
    const read = parseWire(remoteOutcomeSchema, value);
    this.closeInterrupted(entry, read.ok ? read.data : null);
    if (!read.ok) {
      this.end(entry, failedOutcome({ code: 'REMOTE_BAD_REPLY', message: `the worker sent back an outcome that is not one (${read.problem}; is it the same Threadline version?)` }, entry.worker));
      return;
    }
    const outcome = read.data;
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

  /** Resolves once each task following the job has ended. */
  private async onFailed(remoteId: string, reason: string): Promise<void> {
    const followers = this.following(remoteId);
    if (followers.length === 0) return;
    if (!isBatchId(remoteId)) {
      this.taskFailed(followers[0]!, reason);
      return;
    }
    // The tasks of the batch that ended before it failed keep their outcomes.
    await this.commands
      .hgetall(batchResultsKey(remoteId))
      .catch(() => ({}) as Record<string, string>)
      .then((kept) => {
        for (const entry of followers) {
          if (entry.ended) continue;
          const outcome = readWire(remoteOutcomeSchema, kept[entry.task.key]);
          if (outcome) this.taskCompleted(entry, outcome);
          else this.taskFailed(entry, reason);
        }
      });
  }

  private taskFailed(entry: InFlight, reason: string): void {
    if (STALLED_TOO_OFTEN.test(reason) && entry.redisOutages < this.redisOutages) {
      // Its worker's lock lapsed while Redis was away, not because the task killed workers: not
      // the task's fault, so not WORKER_CRASHED. The attempt ends interrupted and the task goes
      // back to the engine, to be handed out again as its next attempt.
      this.listener.log({ taskKey: entry.task.key, at: Date.now(), level: 'warn', message: 'found stalled twice, with Redis out of reach meanwhile: the task is not taken for the cause, and runs again' });
      entry.interruptedAt ??= Date.now();
      this.closeInterrupted(entry);
      this.end(entry, { type: 'returned' });
    } else if (STALLED_TOO_OFTEN.test(reason) && this.cutOffFor(entry).length > 0) {
      // Not a crash: its end could not get through a link that cuts the worker's connections.
      const machines = this.cutOffFor(entry).map((name) => JSON.stringify(name)).join(', ');
      this.end(entry, failedOutcome({ code: 'REMOTE_LINK_CUT', message: `found stalled twice while the connections to Redis of ${machines} kept being cut (a VPN or a proxy cutting them): the task's end could not get through, so it is not run a third time; check the network between that machine and Redis, or run the task with runOn: local` }, entry.worker));
    } else if (STALLED_TOO_OFTEN.test(reason)) {
      this.end(entry, failedOutcome({ code: 'WORKER_CRASHED', message: 'the workers running this task were lost twice while it ran (killed, out of memory, or cut off from Redis): it is taken for the cause and not run again' }, entry.worker));
    } else {
      this.end(entry, failedOutcome({ code: 'REMOTE_ERROR', message: `the worker could not run the task: ${reason}` }, entry.worker));
    }
  }

  /** Its worker stopped renewing its lock (killed, or cut off): BullMQ queues the task again, for another worker. */
  private onStalled(remoteId: string): void {
    const followers = this.following(remoteId);
    for (const entry of followers) this.taskStalled(entry);
    if (followers.length > 0) void this.failIfStalledTooOften(remoteId).catch(() => {});
  }

  /**
   * A job found stalled more than MAX_STALLED_COUNT times is not failed by BullMQ there and then:
   * it is queued again marked to fail, and fails only when a worker next takes it. With no worker
   * left to take it (the task killed the only one twice; a worker whose link cuts its connections
   * takes none and could not send the failure anyway), the task would wait for good, its fate
   * already sealed. So the orchestrator, on seeing the stall, takes the failure BullMQ would
   * report as reported (read as a crash, a cut link or Redis away, as any such failure), and takes
   * the job off the queue so that no worker picks it up.
   */
  private async failIfStalledTooOften(remoteId: string): Promise<void> {
    const job = await this.queue.getJob(remoteId);
    if (!job || job.stalledCounter <= MAX_STALLED_COUNT || this.following(remoteId).length === 0) return;
    // Ended before the job goes, so that reconciling does not take it for a job Redis lost.
    await this.onFailed(remoteId, job.deferredFailure || 'job stalled more than allowable limit');
    // Taken by a worker meanwhile, it cannot be removed: that worker fails it without running it.
    await job.remove().catch(() => {});
  }

  /** The machines whose link to Redis was cut while the task was out: where it ran, if known, else any. */
  private cutOffFor(entry: InFlight): string[] {
    if (entry.ranOn) return this.cutOff.cutSince(entry.ranOn, entry.handedAt) ? [entry.ranOn] : [];
    return this.cutOff.namesCutSince(entry.handedAt);
  }

  private taskStalled(entry: InFlight): void {
    const where = entry.worker ?? 'a worker';
    const at = Date.now();
    const cut = this.cutOffFor(entry);
    const why = cut.length > 0 ? `the connections to Redis of ${cut.map((name) => JSON.stringify(name)).join(', ')} kept being cut, so ${where}'s work on it could not get through` : `${where} stopped answering (killed, or cut off from Redis)`;
    // The attempt is closed as interrupted when the task begins again elsewhere; if it is not
    // run again (lost twice), the failure ends that same attempt.
    entry.interruptedAt ??= at;
    this.listener.log({
      taskKey: entry.task.key,
      at,
      level: 'warn',
      message: `attempt ${entry.attempt} was interrupted: ${why}; the first time, the task runs again on another worker, the second it fails`,
    });
    entry.worker = null;
  }

  /** Queues again a task Redis lost; if Redis goes away again meanwhile, the next round tries again (its state is still unknown then). */
  private async requeue(entry: InFlight): Promise<void> {
    try {
      await this.enqueue(entry);
    } catch (error) {
      entry.queued = true;
      throw error;
    }
  }

  /**
   * Redis no longer knows the job (restarted without its data, or flushed): the task is queued
   * again. One that had begun somewhere ends that attempt as interrupted when it begins again, as
   * after a lost worker, and its log says why, so that a second run is never silent.
   */
  private lostByRedis(entry: InFlight): void {
    const where = entry.worker ? ` while it ran on ${entry.worker}` : '';
    if (entry.worker) entry.interruptedAt ??= Date.now();
    this.listener.log({
      taskKey: entry.task.key,
      at: Date.now(),
      level: 'warn',
      message: `attempt ${entry.attempt} was lost by Redis${where} (restarted without its data, or flushed): the task is queued again`,
    });
    entry.worker = null;
  }

  private onAnnouncement(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    // Parsed once for both readings below; only an object can be an announcement (a JSON string is not read again).
    if (typeof value !== 'object' || value === null) return;
    const announcement = readWire(workerAnnouncementSchema, value);
    if (announcement) {
      if (!this.roster.hasRoomFor(announcement)) {
        if (this.turnedAway.heard('roster-full', announcement.name, announcement.host, announcement.threads)) this.listener.noticesChanged?.();
        return;
      }
      if (this.cutOff.heard(announcement)) this.listener.noticesChanged?.();
      if (this.roster.heard(announcement) && this.lastSource) this.fill(this.lastSource);
      return;
    }
    // Well formed but for its name or its threads: a worker of another version, or a forger, that people should hear of.
    const refused = readWire(announcementUnderAnyNameSchema, value);
    if (!refused) return;
    const problem = machineNameProblem(refused.name);
    if (problem) {
      if (this.refused.heard(refused.name, refused.host, problem, refused.state === 'leaving')) this.listener.noticesChanged?.();
    } else if (refused.threads > MAX_ANNOUNCED_THREADS && refused.state !== 'leaving') {
      if (this.turnedAway.heard('too-many-threads', refused.name, refused.host, refused.threads)) this.listener.noticesChanged?.();
    }
  }

  /** Reads the state of every task on Redis: an outcome whose event was lost still arrives, a task Redis lost is queued again. */
  private async reconcile(): Promise<void> {
    if (this.closed) return;
    if (this.reconciling) {
      // A connection that stays open to a Redis that does not answer never closes: its silence is the sign.
      if (Date.now() - this.reconcileStartedAt > REDIS_SILENT_MS && !this.redisAway) {
        this.redisReason = `no answer for ${REDIS_SILENT_MS / 1000} s`;
        this.redisLost();
      }
      return;
    }
    this.reconciling = true;
    this.reconcileStartedAt = Date.now();
    // Just gone on from a stop, it has not yet read the announcements sent meanwhile.
    if (this.clock.sinceWake() > LOST_AFTER_MS) {
      if (this.refused.forgetSilent()) this.listener.noticesChanged?.();
      if (this.turnedAway.forgetSilent()) this.listener.noticesChanged?.();
      if (this.cutOff.forgetSilent()) this.listener.noticesChanged?.();
    }
    this.roster.forgetLost(this.runningOn());
    try {
      await this.commands.ping();
      this.redisBack();
      if (this.lastSource) this.fill(this.lastSource); // workers lost or found since the last fill
      for (const remoteId of [...this.byRemoteId.keys()]) {
        const followers = this.following(remoteId).filter((entry) => entry.queued);
        if (followers.length === 0) continue;
        const state = await this.queue.getJobState(remoteId);
        if (state === 'completed' || state === 'failed') {
          const job = await this.queue.getJob(remoteId);
          if (!job) continue;
          if (state === 'completed') this.onCompleted(remoteId, job.returnvalue);
          else void this.onFailed(remoteId, job.failedReason ?? 'failed');
        } else if (state === 'unknown') {
          for (const entry of followers) this.lostByRedis(entry);
          if (isBatchId(remoteId)) {
            // Redis lost the batch: its tasks go again, each on its own.
            for (const entry of followers) {
              entry.queued = false;
              this.follow(entry, remoteJobId(entry.task.key, entry.attempt));
              await this.requeue(entry);
            }
          } else {
            for (const entry of followers) entry.queued = false;
            await this.requeue(followers[0]!);
          }
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
    this.unfollow(entry);
    // The times a worker measured: kinds that prove tiny travel in batches from then on.
    if (outcome.type === 'succeeded') this.timings.record(entry.task.kind, outcome.finishedAt - outcome.startedAt);
    this.listener.finished(entry.task, outcome);
    if (this.lastSource) this.fill(this.lastSource);
  }
}

/** `build-07` of `build-07/3` (or of a machine named alone). */
function machineOf(worker: string): string {
  const slash = worker.indexOf('/');
  return slash < 0 ? worker : worker.slice(0, slash);
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
