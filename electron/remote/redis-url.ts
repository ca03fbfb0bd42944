import { Redis } from 'ioredis';
import { CliError } from '../cli/cli-error.js';

/** The connection settings a URL gives; accepted as they are by ioredis and by BullMQ. */
export interface RedisSettings {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: { servername: string };
  maxRetriesPerRequest?: number | null;
  retryStrategy?: (times: number) => number | null;
}

/** Where Redis is, read from a `redis://` or `rediss://` URL (user, password and database included). */
export interface RedisTarget {
  options: RedisSettings;
  /** The URL without its password, for messages and logs. */
  shown: string;
}

/** Reads `--redis URL`; a URL that is not one is a one-line error naming the option (or the setting's `field`). */
export function parseRedisUrl(text: string, field = '--redis'): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`${field}: "${text}" is not a URL; expected redis://[user:password@]host[:port][/db] or rediss://...`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new CliError(`${field}: expected a redis:// or rediss:// URL, got ${url.protocol}//`);
  }
  if (!url.hostname) throw new CliError(`${field}: the URL names no host`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new CliError(`${field}: the database in the URL must be a number, got "${db}"`);
  const options: RedisSettings = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decoded(url.username, `${field}: the user name in the URL`) } : {}),
    ...(url.password ? { password: decoded(url.password, `${field}: the password in the URL`) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
  };
  const shown = new URL(url.href);
  if (shown.password) shown.password = '***';
  return { options, shown: shown.href.replace(/\/$/, '') };
}

/** A URL's percent-encoded part as the text it stands for; one that is not valid encoding is refused (the password is not shown). */
function decoded(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new CliError(`${what} is not valid percent-encoding (a "%" must start %XX, and "%25" is a "%" itself)`);
  }
}

/**
 * Options for the long-lived connections BullMQ and the pub/sub channels use: a command waits
 * through a Redis restart instead of failing (BullMQ requires this of its workers' connections).
 */
export function lastingConnection(target: RedisTarget): RedisSettings {
  return {
    ...target.options,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 1000),
  };
}

/**
 * Connects once, without retries, to tell an unreachable Redis at start from one that goes away
 * later: the first is a one-line error naming the URL (its password hidden), exit status 2. The
 * whole check is bounded: a server that accepts the connection and never answers (a Redis that
 * hangs, a port forwarded to nothing) is told of after `timeoutMs`, like one that cannot be reached.
 * It asks for INFO, which BullMQ needs too, so that a user Redis's ACL does not allow it is told
 * here rather than by the connections that follow.
 */
export async function checkReachable(target: RedisTarget, timeoutMs = 3000): Promise<void> {
  const client = new Redis({ ...target.options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, enableReadyCheck: false });
  // The connection's own error (ECONNREFUSED, a TLS or auth failure) says more than the rejection.
  let cause: unknown = null;
  client.on('error', (error) => (cause ??= error));
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  try {
    await Promise.race([client.connect().then(() => client.info('server')), silent]);
  } catch (error) {
    clearTimeout(timer);
    client.disconnect();
    // A refusal Redis answered (a wrong password, an ACL) is the answer; a socket error after it is not.
    const reason = describe(isReply(error) ? error : (cause ?? error));
    throw new CliError(`cannot reach Redis at ${target.shown}: ${reason}`);
  }
  try {
    // ioredis reports a SELECT the server refused only as an 'error' event, and goes on in
    // database 0: a queue meant to be apart would be shared with whoever uses that one.
    if (target.options.db !== undefined) await client.select(target.options.db);
  } catch (error) {
    throw new CliError(`cannot use database ${target.options.db} of Redis at ${target.shown}: ${describe(error)}`);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** A command Redis answered with an error (NOPERM, WRONGPASS, ...), for a one-line message naming the URL. */
export function redisRefusal(error: unknown, target: RedisTarget): CliError | null {
  if (!isReply(error)) return null;
  return new CliError(`Redis at ${target.shown} refused a command: ${describe(error)}`);
}

function isReply(error: unknown): error is Error {
  return error instanceof Error && (error.name === 'ReplyError' || 'command' in error);
}

/** What went wrong with a connection to Redis, in a few words (no password: ioredis's messages carry none). */
export function redisProblem(error: unknown): string {
  return describe(error);
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (/^NOAUTH/.test(message)) return 'Redis asks for a password and the URL gives none (redis://:PASSWORD@host:port)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  if (code === 'ETIMEDOUT' || /timeout/i.test(message)) return `no answer in time (is a Redis server listening there, and not stopped?)`;
  // What a server of another kind (HTTP, SSH) does to Redis's first command: answers in its own tongue, or hangs up.
  if (/Unknown RESP type|Protocol error/i.test(message)) return 'the server there does not answer as Redis does (is it a Redis server?)';
  if (code === 'EPIPE' || code === 'ECONNRESET' || /Connection is closed/i.test(message)) return 'the server closed the connection before answering (is it a Redis server, and does it accept this client?)';
  return message.replace(/\s+/g, ' ');
}
