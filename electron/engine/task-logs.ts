import type { TaskLogLine } from '../../contract/records.js';

/** Log lines kept per task, in memory and in the store: the newest ones. */
export const LOG_LINES_PER_TASK = 200;

/** What a task holds of its log: the newest lines and how many it ever wrote. */
export interface TaskLog {
  logLines: TaskLogLine[] | null;
  logCount: number;
}

/** Keeps a new line of a task's log, dropping the oldest beyond the bound. */
export function appendTaskLog(task: TaskLog, line: TaskLogLine): void {
  const lines = (task.logLines ??= []);
  lines.push(line);
  task.logCount++;
  if (lines.length > LOG_LINES_PER_TASK) lines.shift();
}

/**
 * A task's log from memory, when memory holds all of what is kept: every line it wrote, or the
 * full newest 200. Null when the store must be asked (a resumed task's earlier run).
 */
export function taskLogInMemory(taskKey: string, task: TaskLog): TaskLogLine[] | null {
  const lines = task.logLines ?? [];
  if (lines.length !== task.logCount && lines.length < LOG_LINES_PER_TASK) return null;
  return withDroppedNote(taskKey, [...lines], task.logCount - lines.length);
}

/**
 * The lines of a task as a reader sees them: when earlier lines were dropped, a first line
 * says how many, so a reader never mistakes the tail for the whole log.
 */
export function withDroppedNote(taskKey: string, lines: TaskLogLine[], dropped: number): TaskLogLine[] {
  if (dropped <= 0) return lines;
  const at = lines[0]?.at ?? 0;
  const note: TaskLogLine = {
    taskKey,
    at,
    level: 'warn',
    message: `${dropped} earlier log line${dropped === 1 ? '' : 's'} dropped; the newest ${LOG_LINES_PER_TASK} are kept`,
  };
  return [note, ...lines];
}
