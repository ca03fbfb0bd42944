import { ApiCallError } from '../../contract/api.js';
import type { JobRecord } from '../../contract/records.js';
import { rerunJob } from '../engine/rerun.js';
import { findRunningServe, hostName, type ServeInfo } from '../serve/serve-info.js';
import { CliError } from './cli-error.js';
import { connectServe } from './host-link.js';
import { dataDirOf } from './options.js';
import { drive, type EngineRunOptions, type Output } from './run-command.js';
import { oneLine } from './terminal-text.js';

export interface RerunCommandOptions extends EngineRunOptions {
  /** Only the tasks that did not succeed, and those depending on them. */
  failed?: boolean;
}

/**
 * `threadline rerun <jobId> [--failed]`: the job again as a new job, rebuilt from the store.
 * With a `threadline serve` or the desktop app on the data directory the new job runs there (and
 * shows in its dashboard); otherwise on an engine of its own, to the end, reported like `run`.
 */
export async function rerunCommand(jobId: string, options: RerunCommandOptions, io: Output): Promise<number> {
  const failedOnly = options.failed === true;
  const serve = findRunningServe(dataDirOf(options));
  if (serve.ok) return rerunOnServer(serve.info, jobId, failedOnly, options, io);
  return drive(options, io, async (engine) => {
    const outcome = await rerunJob(engine, jobId, { failedOnly });
    if (!outcome.ok) {
      if (outcome.code === 'JOB_RUNNING') throw new CliError(oneLine(outcome.reason));
      if (!options.json) io.err(oneLine(outcome.reason));
      return [];
    }
    if (!options.json) io.err(describeRerun(outcome.job, jobId, failedOnly));
    return [outcome.job];
  });
}

async function rerunOnServer(info: ServeInfo, jobId: string, failedOnly: boolean, options: RerunCommandOptions, io: Output): Promise<number> {
  const client = await connectServe(info);
  try {
    const result = await client.api.rerunJob({ jobId, failedOnly });
    if (!result.ok) {
      if (result.code === 'JOB_RUNNING') throw new CliError(oneLine(result.reason));
      if (options.json) io.out(JSON.stringify({ rerunOf: jobId, job: null, reason: result.reason }));
      else io.err(oneLine(result.reason));
      // Nothing left to run is not a failure.
      return 0;
    }
    if (options.json) io.out(JSON.stringify({ rerunOf: jobId, job: result.job }));
    else if (info.app === 'desktop') io.out(`${describeRerun(result.job, jobId, failedOnly)} on ${hostName(info)}: follow it in its window`);
    else io.out(`${describeRerun(result.job, jobId, failedOnly)} on "threadline serve" (${info.url.split('?')[0]}): follow it in the dashboard`);
    return 0;
  } catch (error) {
    if (error instanceof ApiCallError) throw new CliError(error.message);
    throw error;
  } finally {
    await client.close();
  }
}

function describeRerun(job: JobRecord, from: string, failedOnly: boolean): string {
  const what = failedOnly ? 'the tasks that did not succeed' : 'every task';
  return `job ${oneLine(job.id)} (${oneLine(job.name)}): ${what} of ${oneLine(from)} again, ${job.taskCount} task${job.taskCount === 1 ? '' : 's'}`;
}
