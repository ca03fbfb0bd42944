import { ApiCallError } from '../../contract/api.js';
import { findRunningServe } from '../serve/serve-info.js';
import { CliError } from './cli-error.js';
import { connectServe } from './host-link.js';
import { dataDirOf } from './options.js';
import type { Output } from './run-command.js';

/**
 * `threadline cancel <jobId|taskKey>` against the `threadline serve` running on the data
 * directory. Exit 0 when something was asked to stop, 1 when it had already ended, 2 when
 * there is no such job or task, or no server.
 */
export async function cancelOnServer(target: string, options: { dataDir?: string; json?: boolean }, io: Output): Promise<number> {
  const dataDir = dataDirOf(options);
  const found = findRunningServe(dataDir);
  if (!found.ok) throw new CliError(found.problem);
  const client = await connectServe(found.info);
  try {
    const isTask = target.includes(':');
    const cancelled = isTask ? Number((await client.api.cancelTask({ key: target })).cancelled) : (await client.api.cancelJob({ jobId: target })).cancelled;
    if (options.json) io.out(JSON.stringify({ target, kind: isTask ? 'task' : 'job', cancelled }));
    else if (cancelled === 0) io.out(`${isTask ? 'task' : 'job'} ${target} had already ended; nothing to cancel`);
    else io.out(isTask ? `task ${target}: asked to stop` : `job ${target}: ${cancelled} task${cancelled === 1 ? '' : 's'} asked to stop`);
    return cancelled > 0 ? 0 : 1;
  } catch (error) {
    if (error instanceof ApiCallError) throw new CliError(error.message);
    throw error;
  } finally {
    await client.close();
  }
}
