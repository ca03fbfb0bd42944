import cliProgress from 'cli-progress';
import { isTerminal, type TaskState } from '../../contract/task-states.js';
import type { Engine } from '../engine/engine.js';
import type { TelemetrySample } from '../engine/telemetry.js';
import type { Task } from '../engine/task.js';
import { describeTaskEnd } from './task-table.js';

/** Running tasks shown with a bar of their own; the rest count in the summary line. */
const MAX_TASK_BARS = 8;
const SUMMARY_EVERY_MS = 100;

// Each line fits 80 columns: the final frame is cut at the terminal's width.
const SUMMARY_FORMAT = '{bar} {value}/{total} ended | loop delay p99 {loop} ms';
const COUNTS_FORMAT = 'running {running} | queued {queued} | done {done} | failed {failed} | cancelled {cancelled}';
const TASK_FORMAT = '  {bar} {percentage}% | {task} ({kind}){note}';

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * The live display of `run` and `resume` on a terminal: a summary bar (ended of all tasks, and
 * the event loop's delay), a line of running/queued/done counts, and a bar per running task.
 * Task failures, cancellations and retries are printed above the bars as they happen.
 */
export function attachProgressDisplay(engine: Engine, stream: NodeJS.WriteStream): () => void {
  const bars = new cliProgress.MultiBar(
    {
      stream,
      fps: 10,
      barsize: 24,
      hideCursor: false, // a hard stop (second Ctrl-C) must not leave the cursor hidden
      gracefulExit: false, // the CLI's own signal handling stops the engine, then this display
      linewrap: false,
      clearOnComplete: false,
      emptyOnZero: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let loopP99 = 0;
  const summary = bars.create(0, 0, counters(engine.stateCounts(), loopP99), { format: SUMMARY_FORMAT });
  const countsLine = bars.create(0, 0, counters(engine.stateCounts(), loopP99), { format: COUNTS_FORMAT });
  const taskBars = new Map<string, cliProgress.SingleBar>();
  const shown = new Map<string, TaskState>();

  const refreshSummary = () => {
    const counts = engine.stateCounts();
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const ended = counts.succeeded + counts.failed + counts.cancelled + counts.timed_out + counts.skipped + counts.interrupted;
    summary.setTotal(total);
    summary.update(ended, counters(counts, loopP99));
    countsLine.update(0, counters(counts, loopP99));
  };

  const onTask = (task: Task) => {
    const before = shown.get(task.key);
    shown.set(task.key, task.state);
    const active = task.state === 'running' || task.state === 'cancelling';
    let bar = taskBars.get(task.key);
    if (active) {
      if (!bar && taskBars.size < MAX_TASK_BARS) {
        bar = bars.create(100, 0, {}, { format: TASK_FORMAT });
        taskBars.set(task.key, bar);
      }
      bar?.update(Math.round((task.progress ?? 0) * 100), {
        task: clip(task.id, 40),
        kind: task.kind,
        note: task.state === 'cancelling' ? ' cancelling' : task.progressMessage ? ` ${clip(task.progressMessage, 40)}` : '',
      });
      return;
    }
    if (bar) {
      bars.remove(bar);
      taskBars.delete(task.key);
    }
    if (before === task.state) return;
    if ((isTerminal(task.state) && task.state !== 'succeeded') || task.state === 'interrupted') bars.log(`${describeTaskEnd(task.toRecord())}\n`);
    else if (task.state === 'queued' && before !== undefined && task.error) bars.log(`${task.id} attempt ${task.attempts} ended (${task.error.message}); retrying\n`);
  };
  const onTelemetry = (sample: TelemetrySample) => {
    loopP99 = sample.loop.delayP99Ms;
  };

  engine.on('task', onTask);
  engine.on('telemetry', onTelemetry);
  const timer = setInterval(refreshSummary, SUMMARY_EVERY_MS);
  timer.unref();
  return () => {
    engine.off('task', onTask);
    engine.off('telemetry', onTelemetry);
    clearInterval(timer);
    for (const bar of taskBars.values()) bars.remove(bar);
    refreshSummary();
    bars.stop();
  };
}

function counters(c: Record<TaskState, number>, loopP99: number) {
  return {
    running: c.running + c.cancelling,
    queued: c.queued,
    done: c.succeeded,
    failed: c.failed + c.timed_out,
    cancelled: c.cancelled + c.skipped,
    loop: loopP99.toFixed(1),
  };
}
