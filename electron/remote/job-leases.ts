import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ANNOUNCE_INTERVAL_MS, LOST_AFTER_MS, jobLeaseKey } from './remote-protocol.js';

/** Who runs a job's remote tasks, as its key on Redis says. */
export interface JobHolder {
  host: string;
  pid: number;
}

/** Another live orchestrator sends this job's tasks to the workers. */
export class JobHeldElsewhere extends Error {
  constructor(
    readonly jobId: string,
    readonly holder: JobHolder | null,
  ) {
    const who = holder ? `another orchestrator (on host ${JSON.stringify(holder.host)}, pid ${holder.pid})` : 'another orchestrator';
    super(
      `job ${jobId} is already run by ${who} on this Redis (a copy of its data directory?): both would follow the same tasks on the workers, so it is not run here too; stop that one, or resume this copy once it has ended`,
    );
  }
}

/** Takes the key if it is free or already this holder's, and renews it then: nil if held, the other holder's value if not. */
const CLAIM = `
local held = redis.call('GET', KEYS[1])
if held == false or held == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return false end
return held`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** A job stays held this long after its last remote task ended (a job may run local tasks, or wait on a retry, in between). */
const KEEP_AFTER_LAST_TASK_MS = 10 * 60_000;

/**
 * The jobs whose tasks this orchestrator puts on the queue, each held as a key on Redis that
 * lapses when it stops renewing it (killed without a word). A job's remote ids are its task keys
 * and attempts, so two orchestrators running the same job (a data directory copied to a second
 * machine, both resumed) would follow the same BullMQ jobs: each could stop the other's task, or
 * take a job off the queue the other still waits on. The second is refused; one resumed in place
 * of an orchestrator killed a moment ago waits for the key to lapse.
 */
export class JobLeases {
  private readonly token = JSON.stringify({ host: hostname(), pid: process.pid, id: randomUUID() } satisfies JobHolder & { id: string });
  /** Jobs held, by when a task of theirs was last seen out. */
  private readonly held = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    /** The jobs with a task out now. */
    private readonly jobsOut: () => Iterable<string>,
    private readonly waitMs = LOST_AFTER_MS + ANNOUNCE_INTERVAL_MS,
  ) {
    this.timer = setInterval(() => void this.renew().catch(() => {}), ANNOUNCE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Holds `jobId`, waiting for a holder that no longer renews it; throws `JobHeldElsewhere` if another still does. */
  async claim(jobId: string): Promise<void> {
    if (this.held.has(jobId)) return;
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const holder = await this.redis.eval(CLAIM, 1, jobLeaseKey(jobId), this.token, String(LOST_AFTER_MS));
      if (holder === null) break;
      if (Date.now() >= deadline) throw new JobHeldElsewhere(jobId, readHolder(holder));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    this.held.set(jobId, Date.now());
  }

  /** Lets this orchestrator's jobs go at once (a resume right after a clean stop need not wait for them to lapse). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    const jobIds = [...this.held.keys()];
    this.held.clear();
    if (jobIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const jobId of jobIds) pipeline.eval(RELEASE, 1, jobLeaseKey(jobId), this.token);
    await pipeline.exec();
  }

  private async renew(): Promise<void> {
    const now = Date.now();
    for (const jobId of this.jobsOut()) if (this.held.has(jobId)) this.held.set(jobId, now);
    for (const [jobId, at] of this.held) if (now - at > KEEP_AFTER_LAST_TASK_MS) this.held.delete(jobId);
    if (this.held.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const jobId of this.held.keys()) pipeline.eval(CLAIM, 1, jobLeaseKey(jobId), this.token, String(LOST_AFTER_MS));
    await pipeline.exec();
  }
}

function readHolder(text: unknown): JobHolder | null {
  if (typeof text !== 'string') return null;
  try {
    const parsed = JSON.parse(text) as Partial<JobHolder>;
    return typeof parsed.host === 'string' && typeof parsed.pid === 'number' ? { host: parsed.host.slice(0, 100), pid: parsed.pid } : null;
  } catch {
    return null;
  }
}
