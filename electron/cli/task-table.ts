/**
 * The tables and one-line task reports of the CLI. They measure text with string-width (through
 * display-width.ts), whose loading costs a run's start tens of milliseconds: the commands import
 * this module only where they print a table or a report, never at their start or for --json.
 */
import type { TaskLogLine, TaskRecord } from '../../contract/records.js';
import { clipped, displayWidth, fitted } from './display-width.js';
import { oneLine } from './terminal-text.js';
import { duration } from './task-duration.js';

/** The most columns a table cell takes: a 200-character name must not push the other columns off the screen. */
const CELL_COLUMNS = 80;

/**
 * A plain-text table with left-aligned columns. Each cell is one line, as printed (escapes
 * included) and cut to `CELL_COLUMNS`, before the columns are measured, so that an escaped line
 * break or override cannot push the columns after it out of line. Columns are measured in the
 * terminal's columns, not characters: a CJK name or an emoji is twice as wide as it is long.
 */
export function table(header: string[], rows: string[][]): string {
  const printed = rows.map((row) => row.map((cell) => fitted(oneLine(cell), CELL_COLUMNS)));
  const heading = header.map((h) => ({ text: h, columns: displayWidth(h) }));
  const widths = heading.map((h) => h.columns);
  for (const row of printed) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.columns)));
  const line = (cells: Array<{ text: string; columns: number }>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c.text : c.text + ' '.repeat(widths[i]! - c.columns))).join('  ').trimEnd();
  const rule = widths.map((w) => ({ text: '-'.repeat(w), columns: w }));
  return [line(heading), line(rule), ...printed.map(line)].join('\n');
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
