import type { JobRecord, TaskLogLine, TaskRecord } from '../../contract/records.js';
import { resultSummary } from './result-summary.js';
import type { Output } from './run-command.js';
import { oneLine } from './terminal-text.js';

/** Result summaries printed after the table; the rest are one `threadline show` away. */
const SUMMARIES_SHOWN = 50;

/** A finished job as `run`, `resume` and `show` report it. */
export interface JobOutcome {
  job: JobRecord;
  tasks: TaskRecord[];
  /** Stored log lines by task key (tasks without any are left out). */
  logs: Map<string, TaskLogLine[]>;
}

/** The `--json` shape of a job. */
export function jobJson({ job, tasks, logs }: JobOutcome) {
  return {
    job,
    tasks: tasks.map((t) => ({
      id: t.id,
      kind: t.kind,
      state: t.state,
      attempts: t.attempts,
      startedAt: t.startedAt,
      finishedAt: t.finishedAt,
      worker: t.worker,
      result: t.result,
      summary: resultSummary(t.kind, t.result) || null,
      error: t.error,
      logs: (logs.get(t.key) ?? []).map(({ at, level, message }) => ({ at, level, message })),
    })),
  };
}

/** 0 when every task succeeded, else 1. */
export function exitCodeOf(tasks: TaskRecord[]): number {
  return tasks.every((t) => t.state === 'succeeded') ? 0 : 1;
}

/** What `run` and `resume` print at the end: JSON, or per job a table and each task's result in a line. */
export async function printOutcomes(outcomes: JobOutcome[], json: boolean | undefined, io: Output): Promise<void> {
  if (json) {
    const payload = outcomes.map(jobJson);
    io.out(JSON.stringify(payload.length === 1 ? payload[0] : payload, null, 2));
    return;
  }
  // Loaded only to print text: they measure it with string-width (task-table.ts).
  const { taskTable } = await import('./task-table.js');
  const { displayWidth, padToWidth } = await import('./display-width.js');
  for (const { job, tasks } of outcomes) {
    // The heading and each result are one line: the job's name and the task ids as `oneLine` prints them.
    io.out(`\njob ${oneLine(job.id)} (${oneLine(job.name)}): ${job.state}\n${taskTable(tasks)}`);
    const summaries = tasks.map((t) => [oneLine(t.id), oneLine(resultSummary(t.kind, t.result))] as const).filter(([, summary]) => summary !== '');
    if (summaries.length > 0) {
      // Ids aligned in columns (a CJK id is twice as wide as it is long), up to 30 of them.
      const width = Math.min(30, Math.max(...summaries.map(([id]) => displayWidth(id))));
      io.out(`\nresults:\n${summaries.slice(0, SUMMARIES_SHOWN).map(([id, summary]) => `  ${padToWidth(id, width)}  ${summary}`).join('\n')}`);
      if (summaries.length > SUMMARIES_SHOWN) io.out(`  … ${summaries.length - SUMMARIES_SHOWN} more: "threadline show ${oneLine(job.id)}"`);
    }
    if (job.state === 'interrupted') io.out(`run "threadline resume" to finish it`);
  }
}
