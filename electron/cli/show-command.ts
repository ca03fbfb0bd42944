import type { TaskAttempt, TaskRecord } from '../../contract/records.js';
import { withHistory } from '../engine/history.js';
import { taskRecordOf } from '../engine/store-rows.js';
import { CliError } from './cli-error.js';
import { jobJson, type JobOutcome } from './job-output.js';
import { when } from './jobs-command.js';
import { dataDirOf } from './options.js';
import { resultSummary } from './result-summary.js';
import type { Output } from './run-command.js';
import { duration, taskTable } from './task-table.js';

/** Tasks described one by one in text; the table (and --json) has them all. */
const TASKS_DESCRIBED = 50;

/**
 * `threadline show <jobId>`: a job from the store, with each task's state, attempts, error,
 * result and stored log lines. Works on a job of any age, while a host runs or not.
 */
export function showJob(jobId: string, options: { dataDir?: string; json?: boolean }, io: Output): number {
  const dataDir = dataDirOf(options);
  const stored = withHistory(dataDir, (store) => {
    const job = store.getJob(jobId);
    if (!job) return null;
    return { job, tasks: store.tasksOfJob(jobId).map(taskRecordOf), attempts: store.attemptsOfJob(jobId), logsById: store.logsOfJob(jobId) };
  });
  if (!stored) throw new CliError(`no job ${JSON.stringify(jobId)} in the data directory ${dataDir}; "threadline jobs --data-dir ${dataDir}" lists the jobs`);
  const { job, tasks, attempts, logsById } = stored;
  const outcome: JobOutcome = { job, tasks, logs: new Map(tasks.map((t) => [t.key, logsById.get(t.id) ?? []])) };

  if (options.json) {
    const json = jobJson(outcome);
    io.out(JSON.stringify({ ...json, tasks: json.tasks.map((task) => ({ ...task, history: attempts.get(task.id) ?? [] })) }, null, 2));
    return 0;
  }
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
  io.out(
    [
      `job ${job.id} (${job.name}): ${job.state}`,
      `created ${when(job.createdAt)}${job.finishedAt !== null ? `, finished ${when(job.finishedAt)} (${duration({ startedAt: job.createdAt, finishedAt: job.finishedAt })})` : ''}`,
      `${tasks.length} task${tasks.length === 1 ? '' : 's'}: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}; paths relative to ${job.baseDir}`,
      '',
      taskTable(tasks),
    ].join('\n'),
  );
  // Unsuccessful tasks and those with something to say first, when not all fit.
  const described = tasks.length <= TASKS_DESCRIBED ? tasks : [...tasks].sort((a, b) => weight(b, logsById) - weight(a, logsById)).slice(0, TASKS_DESCRIBED);
  for (const task of described) io.out(`\n${describeTask(task, attempts.get(task.id) ?? [], outcome.logs.get(task.key) ?? [])}`);
  if (described.length < tasks.length) io.out(`\n… ${tasks.length - described.length} more tasks: "threadline show ${job.id} --json" has every one`);
  return 0;
}

function weight(task: TaskRecord, logs: Map<string, unknown[]>): number {
  return (task.state === 'succeeded' ? 0 : 2) + ((logs.get(task.id)?.length ?? 0) > 0 ? 1 : 0);
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function describeTask(task: TaskRecord, attempts: TaskAttempt[], logs: JobOutcome['logs'] extends Map<string, infer L> ? L : never): string {
  const lines = [`task ${task.id} (${task.kind}): ${task.state}`];
  for (const a of attempts) {
    lines.push(`  attempt ${a.attempt}: ${a.state} on ${a.worker ?? '?'} at ${clock(a.startedAt)}${a.finishedAt !== null ? `, ${duration({ startedAt: a.startedAt, finishedAt: a.finishedAt })}` : ''}`);
  }
  if (task.error && task.state !== 'succeeded') lines.push(`  error: ${task.error.code}: ${task.error.message.replace(/\s+/g, ' ')}`);
  const summary = resultSummary(task.kind, task.result);
  if (summary) lines.push(`  result: ${summary}`);
  if (logs.length > 0) {
    lines.push('  log:');
    for (const line of logs) lines.push(`    ${clock(line.at)} ${line.level.padEnd(5)} ${line.message.replace(/\s+/g, ' ')}`);
  }
  return lines.join('\n');
}
