import { CliError } from '../cli/cli-error.js';
import { defaultPool, type EngineOptions } from '../engine/engine-options.js';
import { SyncExecutors, type ExecutorMaker } from './sync-executors.js';

// Redis and BullMQ (some 300 modules) load only when --redis is given: a run without it does not wait for them.

export interface RemoteWorkersChoice {
  /** `--redis URL`: the queue the `threadline worker`s take tasks from. */
  redis?: string;
  /** `--workers N`; 0 keeps no local pool. */
  workers?: number;
}

/**
 * Engine options for `--redis URL [--workers N]`: sync tasks run on the remote workers' threads
 * first and on the local pool beside them, or on the remote workers alone with `--workers 0`.
 * Redis is reached once before anything starts, so that an unreachable one is one line, exit 2.
 */
export async function withRemoteWorkers(options: EngineOptions, choice: RemoteWorkersChoice): Promise<EngineOptions> {
  if (choice.redis === undefined) {
    if (choice.workers === 0) throw new CliError('--workers 0 needs --redis: with no local pool, sync tasks run only on remote workers');
    return options;
  }
  const [{ checkReachable, parseRedisUrl }, { RemoteExecutor }] = await Promise.all([import('./redis-url.js'), import('./remote-executor.js')]);
  const target = parseRedisUrl(choice.redis);
  await checkReachable(target);
  const alone = choice.workers === 0;
  const places: ExecutorMaker[] = [(listener) => new RemoteExecutor(target, listener, alone)];
  if (!alone) places.push(defaultPool(options));
  return { ...options, executors: { ...options.executors, pool: (listener) => new SyncExecutors(listener, places) } };
}
