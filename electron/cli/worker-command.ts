import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { checkReachable, parseRedisUrl } from '../remote/redis-url.js';
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
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new CliError(`--name: "${name}" must be 1 to 100 of A-Z a-z 0-9 . _ -`);
  const threads = options.workers ?? (await import('node:os')).availableParallelism();
  await checkReachable(redis);
  const { RemoteWorker } = await import('../worker/remote-worker.js');
  const worker = new RemoteWorker({ redis, threads, name, root });
  await worker.ready();
  io.out(`threadline worker ${name}: ${threads} thread${threads === 1 ? '' : 's'} on ${redis.shown}, root ${root}`);
  return new Promise((done) => {
    const removeHandlers = onShutdownSignals(
      () => {
        void worker.drain().then(() => {
          removeHandlers();
          done(0);
          // Connections to a Redis that went away keep retrying; nothing is left to wait for.
          setTimeout(() => process.exit(0), 1000).unref();
        });
      },
      io.err,
      { what: 'draining: running tasks end, then the worker exits' },
    );
  });
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
