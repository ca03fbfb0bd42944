import { ApiCallError } from '../../contract/api.js';
import { cancelInterruptedInStore } from '../engine/interrupted-jobs.js';
import { findRunningServe, type ServeInfo } from '../serve/serve-info.js';
import { CliError } from './cli-error.js';
import { connectServe } from './host-link.js';
import { dataDirOf } from './options.js';
import type { Output } from './run-command.js';
import { oneLine } from './terminal-text.js';

interface CancelOptions {
  dataDir?: string;
  json?: boolean;
}

/**
 * `threadline cancel <jobId|taskKey>`: through the host (`threadline serve` or the desktop app)
 * running on the data directory; with none running, an interrupted job is cancelled in the store. Exit 0 when
 * something was asked to stop, 1 when it had already ended, 2 when there is no such job or task,
 * or nothing that could cancel it.
 */
export async function cancelJobOrTask(target: string, options: CancelOptions, io: Output): Promise<number> {
  const dataDir = dataDirOf(options);
  const isTask = target.includes(':');
  const found = findRunningServe(dataDir);
  let cancelled: number | null;
  if (found.ok) cancelled = await cancelOnServer(found.info, target, isTask);
  else {
    // With no host to ask, only an interrupted job can be cancelled: in the store.
    cancelled = isTask ? null : cancelInterruptedInStore(dataDir, target);
    if (cancelled === null) throw new CliError(found.problem);
  }
  if (options.json) io.out(JSON.stringify({ target, kind: isTask ? 'task' : 'job', cancelled }));
  else if (cancelled === 0) io.out(`${isTask ? 'task' : 'job'} ${oneLine(target)} had already ended; nothing to cancel`);
  else if (isTask) io.out(`task ${oneLine(target)}: asked to stop`);
  else io.out(`job ${oneLine(target)}: ${cancelled} task${cancelled === 1 ? '' : 's'} ${found.ok ? 'asked to stop' : 'cancelled'}`);
  return cancelled > 0 ? 0 : 1;
}

async function cancelOnServer(info: ServeInfo, target: string, isTask: boolean): Promise<number> {
  const client = await connectServe(info);
  try {
    return isTask ? Number((await client.api.cancelTask({ key: target })).cancelled) : (await client.api.cancelJob({ jobId: target })).cancelled;
  } catch (error) {
    if (error instanceof ApiCallError) throw new CliError(error.message);
    throw error;
  } finally {
    await client.close();
  }
}
