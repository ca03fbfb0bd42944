import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withHistory } from '../engine/history.js';
import { buildTrace } from './chrome-trace.js';
import { CliError } from './cli-error.js';
import { dataDirOf } from './options.js';
import type { Output } from './run-command.js';

/**
 * `threadline export-trace <jobId> -o trace.json`: the job's history from the store as a Chrome
 * trace, with the memory and loop-delay telemetry the engine kept while the job ran.
 */
export async function exportTrace(jobId: string, options: { dataDir?: string; output?: string }, io: Output): Promise<number> {
  const dataDir = dataDirOf(options);
  const stored = withHistory(dataDir, (store) => {
    const job = store.getJob(jobId);
    if (!job) return null;
    const telemetry = store.telemetryBetween(job.createdAt, job.finishedAt ?? Date.now());
    return { job, tasks: store.tasksOfJob(jobId), attempts: store.attemptsOfJob(jobId), logs: store.logsOfJob(jobId), telemetry };
  });
  if (stored === undefined || stored === null) {
    throw new CliError(`no job ${JSON.stringify(jobId)} in the data directory ${dataDir}; "threadline jobs --data-dir ${dataDir}" lists the jobs`);
  }
  const trace = buildTrace(stored);
  const json = JSON.stringify(trace);
  const output = options.output ?? `${jobId}.trace.json`;
  if (output === '-') {
    io.out(json);
  } else {
    try {
      writeFileSync(resolve(output), json);
    } catch (error) {
      throw new CliError(`cannot write ${output}: ${(error as Error).message}`);
    }
    const threads = new Set(trace.traceEvents.filter((e) => e.ph === 'X').map((e) => e.tid)).size;
    const attempts = trace.traceEvents.filter((e) => e.ph === 'X').length;
    io.err(`wrote ${output}: ${attempts} attempt${attempts === 1 ? '' : 's'} on ${threads} track${threads === 1 ? '' : 's'}${stored.telemetry.length > 0 ? ', with telemetry' : ''}; open it in https://ui.perfetto.dev or chrome://tracing`);
  }
  return 0;
}
