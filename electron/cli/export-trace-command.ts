import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { withHistory } from '../engine/history.js';
import { connectApi } from '../serve/node-api-client.js';
import { findRunningServe } from '../serve/serve-info.js';
import { buildTrace } from './chrome-trace.js';
import { CliError } from './cli-error.js';
import { dataDirOf } from './options.js';
import type { Output } from './run-command.js';

/**
 * `threadline export-trace <jobId> -o trace.json`: the job's history from the store as a Chrome
 * trace. The store keeps no telemetry; when a `threadline serve` runs on the data directory,
 * its in-memory telemetry adds the memory and loop-delay counters.
 */
export async function exportTrace(jobId: string, options: { dataDir?: string; output?: string }, io: Output): Promise<number> {
  const dataDir = dataDirOf(options);
  const stored = withHistory(dataDir, (store) => {
    const job = store.getJob(jobId);
    return job ? { job, tasks: store.tasksOfJob(jobId), attempts: store.attemptsOfJob(jobId) } : null;
  });
  if (stored === undefined || stored === null) {
    throw new CliError(`no job ${jobId} in the data directory ${dataDir}; "threadline jobs --data-dir ${dataDir}" lists the jobs`);
  }
  const telemetry = await telemetryFromServe(dataDir, io);
  const trace = buildTrace({ ...stored, telemetry });
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
    io.err(`wrote ${output}: ${attempts} attempt${attempts === 1 ? '' : 's'} on ${threads} track${threads === 1 ? '' : 's'}${telemetry.length > 0 ? ', with telemetry' : ''}; open it in https://ui.perfetto.dev or chrome://tracing`);
  }
  return 0;
}

async function telemetryFromServe(dataDir: string, io: Output): Promise<TelemetrySample[]> {
  const found = findRunningServe(dataDir);
  if (!found.ok) return [];
  try {
    const client = await connectApi(found.info);
    try {
      return (await client.api.snapshot()).telemetry;
    } finally {
      await client.close();
    }
  } catch (error) {
    io.err(`note: no telemetry from the running "threadline serve" (${(error as Error).message}); the trace has task counters only`);
    return [];
  }
}
