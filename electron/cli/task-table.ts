import type { TaskLogLine, TaskRecord } from '../../contract/records.js';
import { clipped, oneLine } from './terminal-text.js';

/** The most characters a table cell prints: a 200-character name must not push the other columns off the screen. */
const CELL_CHARS = 80;

export function duration(task: Pick<TaskRecord, 'startedAt' | 'finishedAt'>): string {
  if (task.startedAt === null || task.finishedAt === null) return '';
  const ms = task.finishedAt - task.startedAt;
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

const width = (text: string): number => [...text].length;

/**
 * A plain-text table with left-aligned columns. Each cell is one line, as printed (escapes
 * included) and cut to `CELL_CHARS`, before the columns are measured, so that an escaped line
 * break or override cannot push the columns after it out of line.
 */
export function table(header: string[], rows: string[][]): string {
  const printed = rows.map((row) => row.map((cell) => clipped(cell, CELL_CHARS)));
  const widths = header.map((h, i) => Math.max(width(h), ...printed.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c)))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...printed.map(line)].join('\n');
}

export function taskTable(tasks: TaskRecord[]): string {
  return table(
    ['TASK', 'KIND', 'STATE', 'TRIES', 'TIME', 'WORKER', 'ERROR'],
    tasks.map((t) => [t.id, t.kind, t.state, String(t.attempts), duration(t), t.worker ?? '', t.error ? `${t.error.code}: ${t.error.message}` : '']),
  );
}

/** A task's end in one line (its id, worker and error escaped as `oneLine` does), as `run` prints it. */
export function describeTaskEnd(task: TaskRecord): string {
  const where = task.worker ? ` on ${oneLine(task.worker)}` : '';
  const took = duration(task);
  const error = task.error && task.state !== 'succeeded' ? `: ${clipped(task.error.message, 200)}` : '';
  return `${oneLine(task.id)} ${task.state}${where}${took ? ` in ${took}` : ''}${error}`;
}

/**
 * A warning or error line a task logged, as the terminal shows it while the job runs: one line
 * among other tasks' lines, so a break in the message is printed as `\n` (`show` prints it whole).
 */
export function describeTaskLog(line: TaskLogLine): string {
  const taskId = line.taskKey.slice(line.taskKey.indexOf(':') + 1);
  return `${oneLine(taskId)} ${line.level === 'warn' ? 'warning' : line.level}: ${clipped(line.message, 200)}`;
}
