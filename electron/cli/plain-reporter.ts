import type { TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { TaskState } from '../../contract/task-states.js';
import { isTerminal } from '../../contract/task-states.js';
import type { Reporter } from './reporter.js';
import type { RunFeed } from './run-feed.js';
import { describeTaskEnd, describeTaskLog } from './task-table.js';
import { oneLine } from './terminal-text.js';

const STATUS_EVERY_MS = 5000;

/** Line-per-event progress for pipes and logs: task ends, retries, warnings, and a status line now and then. */
export function attachPlainReporter(feed: RunFeed, write: (line: string) => void): Reporter {
  const shown = new Map<string, TaskState>();
  const onTask = (task: TaskRecord) => {
    const before = shown.get(task.key);
    if (before === task.state) return;
    shown.set(task.key, task.state);
    if (isTerminal(task.state) || task.state === 'interrupted') write(describeTaskEnd(task));
    else if (task.state === 'queued' && before !== undefined && task.error) {
      write(`${oneLine(task.id)} attempt ${task.attempts} ended (${oneLine(task.error.message)}); retrying`);
    }
  };
  const onLog = (line: TaskLogLine) => {
    if (line.level !== 'info') write(describeTaskLog(line));
  };
  feed.on('task', onTask);
  feed.on('log', onLog);
  const status = setInterval(() => {
    const c = feed.counts();
    write(`running ${c.running + c.cancelling}, queued ${c.queued}, done ${c.succeeded}, failed ${c.failed + c.timed_out}, cancelled ${c.cancelled + c.skipped}`);
  }, STATUS_EVERY_MS);
  status.unref();
  return {
    log: write,
    stop: () => {
      feed.off('task', onTask);
      feed.off('log', onLog);
      clearInterval(status);
    },
  };
}
