import type { TaskAttempt, TaskRecord } from '../../contract/records.js';
import { withHistory } from '../engine/history.js';
import { taskRecordOf } from '../engine/store-rows.js';
import { CliError } from './cli-error.js';
import { jobJson, type JobOutcome } from './job-output.js';
import { when } from './jobs-command.js';
import { dataDirOf } from './options.js';
import { resultSummary } from './result-summary.js';
import type { Output } from './run-command.js';
import { duration } from './task-duration.js';
import { lineOfText, oneLine } from './terminal-text.js';

/** Tasks described one by one in text; the table (and --json) has them all. */
const TASKS_DESCRIBED = 50;

/**
 * `threadline show <jobId>`: a job from the store, with each task's state, attempts, error,
 * result and stored log lines. Works on a job of any age, while a host runs or not.
 */
export async function showJob(jobId: string, options: { dataDir?: string; json?: boolean }, io: Output): Promise<number> {
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
  const { taskTable } = await import('./task-table.js');
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(task.state, (counts.get(task.state) ?? 0) + 1);
  io.out(
    [
      `job ${oneLine(job.id)} (${oneLine(job.name)}): ${job.state}`,
      `created ${when(job.createdAt)}${job.finishedAt !== null ? `, finished ${when(job.finishedAt)} (${duration({ startedAt: job.createdAt, finishedAt: job.finishedAt })})` : ''}`,
      `${tasks.length} task${tasks.length === 1 ? '' : 's'}: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}; paths relative to ${oneLine(job.baseDir)}`,
      '',
      taskTable(tasks),
    ].join('\n'),
  );
  // Unsuccessful tasks and those with something to say first, when not all fit.
  const described = tasks.length <= TASKS_DESCRIBED ? tasks : [...tasks].sort((a, b) => weight(b, logsById) - weight(a, logsById)).slice(0, TASKS_DESCRIBED);
  for (const task of described) io.out(`\n${describeTask(task, attempts.get(task.id) ?? [], outcome.logs.get(task.key) ?? [])}`);
  if (described.length < tasks.length) io.out(`\n… ${tasks.length - described.length} more tasks: "threadline show ${oneLine(job.id)} --json" has every one`);
  return 0;
}

function weight(task: TaskRecord, logs: Map<string, unknown[]>): number {
  return (task.state === 'succeeded' ? 0 : 2) + ((logs.get(task.id)?.length ?? 0) > 0 ? 1 : 0);
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function describeTask(task: TaskRecord, attempts: TaskAttempt[], logs: JobOutcome['logs'] extends Map<string, infer L> ? L : never): string {
  const lines = [`task ${oneLine(task.id)} (${oneLine(task.kind)}): ${task.state}`];
  for (const a of attempts) {
    lines.push(`  attempt ${a.attempt}: ${a.state} on ${a.worker === null ? '?' : oneLine(a.worker)} at ${clock(a.startedAt)}${a.finishedAt !== null ? `, ${duration({ startedAt: a.startedAt, finishedAt: a.finishedAt })}` : ''}`);
  }
  // The error is one line after its label; `--json` has it as stored.
  if (task.error && task.state !== 'succeeded') lines.push(`  error: ${oneLine(task.error.code)}: ${oneLine(task.error.message)}`);
  const summary = oneLine(resultSummary(task.kind, task.result));
  if (summary) lines.push(`  result: ${summary}`);
  if (logs.length > 0) {
    lines.push('  log:');
    for (const line of logs) lines.push(`    ${clock(line.at)} ${line.level.padEnd(5)} ${logMessage(line.message)}`);
  }
  return lines.join('\n');
}

/** Where a log message's text begins on its line: after "    hh:mm:ss.mmm level ". */
const LOG_INDENT = ' '.repeat(4 + 12 + 1 + 5 + 1);

/**
 * A stored log line is what the task wrote, often several lines (a stack, a table): its line
 * breaks are kept, each following line indented under the first so that it cannot be read as a
 * log line of its own. A lone carriage return would overwrite the start of its line, so it is
 * printed as `\r`, and a backslash as `\\` (`lineOfText`).
 */
function logMessage(message: string): string {
  return message
    .split(/\r?\n/)
    .map(lineOfText)
    .join(`\n${LOG_INDENT}`);
}
