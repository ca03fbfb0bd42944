import type { TaskLogLine, TaskRecord } from '../../contract/records.js';

export function duration(task: Pick<TaskRecord, 'startedAt' | 'finishedAt'>): string {
  if (task.startedAt === null || task.finishedAt === null) return '';
  const ms = task.finishedAt - task.startedAt;
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

function clip(text: string, width: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`;
}

/** A plain-text table with left-aligned columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function taskTable(tasks: TaskRecord[]): string {
  return table(
    ['TASK', 'KIND', 'STATE', 'TRIES', 'TIME', 'WORKER', 'ERROR'],
    tasks.map((t) => [t.id, t.kind, t.state, String(t.attempts), duration(t), t.worker ?? '', t.error ? clip(`${t.error.code}: ${t.error.message}`, 80) : '']),
  );
}

export function describeTaskEnd(task: TaskRecord): string {
  const where = task.worker ? ` on ${task.worker}` : '';
  const took = duration(task);
  const error = task.error && task.state !== 'succeeded' ? `: ${clip(task.error.message, 200)}` : '';
  return `${task.id} ${task.state}${where}${took ? ` in ${took}` : ''}${error}`;
}

/** A warning or error line a task logged, as the terminal shows it while the job runs. */
export function describeTaskLog(line: TaskLogLine): string {
  const taskId = line.taskKey.slice(line.taskKey.indexOf(':') + 1);
  return `${taskId} ${line.level === 'warn' ? 'warning' : line.level}: ${clip(line.message, 200)}`;
}
