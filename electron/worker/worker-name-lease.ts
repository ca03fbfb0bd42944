import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { ANNOUNCE_INTERVAL_MS, LOST_AFTER_MS, workerNameKey } from '../remote/remote-protocol.js';

/** Who holds a worker name, as the key on Redis says. */
export interface NameHolder {
  host: string;
  pid: number;
}

/** Another live worker answers to the name. */
export class NameTaken extends Error {
  constructor(
    readonly workerName: string,
    readonly holder: NameHolder | null,
  ) {
    const where = holder ? ` (on host ${holder.host}, pid ${holder.pid})` : '';
    super(`--name: a worker named "${workerName}" is already taking tasks on this queue${where}; give each worker its own --name`);
  }
}

/** Keeps the key while it is still this holder's, or takes it back if it lapsed meanwhile: 1 if held, 0 if another has it. */
const RENEW = `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if held == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]); return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A worker's name on the queue, held as a key that lapses when its worker stops renewing it (as
 * its announcements stop: a worker killed without a word). Two workers under one name would
 * overwrite each other's announcements and share their threads' names in every record, so the
 * second is refused; a worker restarted under the name of one just killed waits for it to lapse.
 */
export class WorkerNameLease {
  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly token: string,
  ) {}

  /**
   * Takes `name`, waiting up to `waitMs` (by default as long as a silent worker takes to be
   * lost) for a holder that no longer renews it. `onWait` hears once who holds it meanwhile.
   * Throws `NameTaken` if it is still held then.
   */
  static async take(
    redis: Redis,
    name: string,
    self: NameHolder,
    options: { waitMs?: number; onWait?: (holder: NameHolder | null) => void } = {},
  ): Promise<WorkerNameLease> {
    const key = workerNameKey(name);
    const token = JSON.stringify({ ...self, id: randomUUID() });
    const deadline = Date.now() + (options.waitMs ?? LOST_AFTER_MS + ANNOUNCE_INTERVAL_MS);
    let told = false;
    for (;;) {
      if ((await redis.set(key, token, 'PX', LOST_AFTER_MS, 'NX')) === 'OK') return new WorkerNameLease(redis, key, token);
      const holder = readHolder(await redis.get(key));
      if (Date.now() >= deadline) throw new NameTaken(name, holder);
      if (!told) options.onWait?.(holder);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Renews it; false when another worker took the name while this one could not reach Redis. */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.token, String(LOST_AFTER_MS))) === 1;
  }

  /** Lets the name go at once, if it is still this worker's. */
  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}

function readHolder(text: string | null): NameHolder | null {
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<NameHolder>;
    return typeof parsed.host === 'string' && typeof parsed.pid === 'number' ? { host: parsed.host, pid: parsed.pid } : null;
  } catch {
    return null;
  }
}
