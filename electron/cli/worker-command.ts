import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { machineNameRefusal } from '../../contract/machine-names.js';
import { LINK_CUT_WINDOW_MS } from '../remote/remote-protocol.js';
import { checkReachable, parseRedisUrl, redisRefusal } from '../remote/redis-url.js';
import { CliError } from './cli-error.js';
import type { Output } from './run-command.js';
import { onShutdownSignals } from './shutdown-signals.js';

export interface WorkerCommandOptions {
  redis: string;
  workers?: number;
  name?: string;
  root?: string;
}

/**
 * `threadline worker`: takes tasks from the queue on Redis until SIGTERM or Ctrl-C, which drain
 * it (its running tasks end first; a second Ctrl-C stops at once and they run elsewhere).
 */
export async function runWorker(options: WorkerCommandOptions, io: Output): Promise<number> {
  const redis = parseRedisUrl(options.redis);
  const root = resolve(options.root ?? process.cwd());
  if (!isFolder(root)) throw new CliError(`--root: ${root} is not a folder`);
  const name = options.name ?? hostname();
  // Without --name the host's name stands in, and is held to the same rule.
  const refusal = machineNameRefusal(options.name === undefined ? '--name (not given, so this host\'s name)' : '--name', name);
  if (refusal) throw new CliError(refusal);
  const threads = options.workers ?? (await import('node:os')).availableParallelism();
  await checkReachable(redis);
  const { RemoteWorker } = await import('../worker/remote-worker.js');
  const { NameTaken } = await import('../worker/worker-name-lease.js');
  let nameLost: (() => void) | null = null;
  const worker = new RemoteWorker({
    redis,
    threads,
    name,
    root,
    onNameWait: (holder) => io.err(`threadline worker: the name "${name}" is held by a worker${holder ? ` on host ${holder.host} (pid ${holder.pid})` : ''}; waiting a few seconds for it to lapse`),
    onNameLost: () => nameLost?.(),
    // Once when its connections cannot be kept, once when they hold again: never a line per cut.
    onLinkCut: (trouble) =>
      io.err(
        trouble
          ? `threadline worker ${name}: cannot keep a connection to Redis at ${redis.shown}: ${trouble.cuts} connections cut within ${LINK_CUT_WINDOW_MS / 1000} s (the last ${trouble.reason}); taking no new task until they hold (is a VPN or a proxy between here and Redis cutting connections?)`
          : `threadline worker ${name}: the connections to Redis at ${redis.shown} hold again; taking tasks`,
      ),
  });
  try {
    await worker.ready();
  } catch (error) {
    if (error instanceof NameTaken) throw new CliError(error.message);
    // A Redis whose ACL lets this user connect but not hold its name or take tasks.
    throw redisRefusal(error, redis) ?? error;
  }
  return new Promise((done) => {
    const stop = (code: number) => {
      void worker.drain().then(() => {
        removeHandlers();
        done(code);
        // Connections to a Redis that went away keep retrying; nothing is left to wait for.
        setTimeout(() => process.exit(code), 1000).unref();
      });
    };
    nameLost = () => {
      nameLost = null;
      io.err(`threadline worker: another worker took the name "${name}" while this one could not reach Redis; draining (give each worker its own --name)`);
      stop(2);
    };
    const removeHandlers = onShutdownSignals(
      () => stop(0),
      io.err,
      { what: 'draining: running tasks end, then the worker exits' },
    );
    // Said once the signals are handled: a supervisor that sends SIGTERM as soon as it reads this
    // line gets a drain, not the default action's death mid-task.
    io.out(`threadline worker ${name}: ${threads} thread${threads === 1 ? '' : 's'} on ${redis.shown}, root ${root}`);
  });
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
