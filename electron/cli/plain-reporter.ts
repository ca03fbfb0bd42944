import type { TaskState } from '../../contract/task-states.js';
import { isTerminal } from '../../contract/task-states.js';
import type { Engine } from '../engine/engine.js';
import type { Task } from '../engine/task.js';
import { describeTaskEnd } from './task-table.js';

const STATUS_EVERY_MS = 5000;

/** Line-per-event progress for pipes and logs: task ends, retries, and a status line now and then. */
export function attachPlainReporter(engine: Engine, write: (line: string) => void): () => void {
  const shown = new Map<string, TaskState>();
  const onTask = (task: Task) => {
    const before = shown.get(task.key);
    if (before === task.state) return;
    shown.set(task.key, task.state);
    if (isTerminal(task.state) || task.state === 'interrupted') write(describeTaskEnd(task.toRecord()));
    else if (task.state === 'queued' && before !== undefined && task.error) {
      write(`${task.id} attempt ${task.attempts} ended (${task.error.message}); retrying`);
    }
  };
  engine.on('task', onTask);
  const status = setInterval(() => {
    const c = engine.stateCounts();
    write(`running ${c.running + c.cancelling}, queued ${c.queued}, done ${c.succeeded}, failed ${c.failed + c.timed_out}, cancelled ${c.cancelled + c.skipped}`);
  }, STATUS_EVERY_MS);
  status.unref();
  return () => {
    engine.off('task', onTask);
    clearInterval(status);
  };
}
