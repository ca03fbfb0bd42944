import type { TaskLogLine, TaskRecord } from '../../contract/records.js';
import { isTerminal, type TaskState } from '../../contract/task-states.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { clipped } from './display-width.js';
import type { Reporter } from './reporter.js';
import type { RunFeed } from './run-feed.js';
import { describeTaskEnd, describeTaskLog } from './task-table.js';
import { TerminalFrame } from './terminal-frame.js';
import { oneLine } from './terminal-text.js';

/** Running tasks shown with a line of their own; the rest count in a "+N more" line. */
const MAX_TASK_LINES = 8;
const REDRAW_EVERY_MS = 100;
const BAR_WIDTH = 24;

interface RunningTask {
  id: string;
  kind: string;
  state: TaskState;
  progress: number | null;
  message: string | null;
  startedAt: number;
  /** It reported a count with no total (an SQL export's rows): its line shows counts to the end. */
  counting: boolean;
}

function bar(fraction: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  return '\u2588'.repeat(filled) + '\u2591'.repeat(BAR_WIDTH - filled);
}

function elapsed(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/**
 * The live display of `run` and `resume` on a terminal: a summary bar (ended of all tasks, and
 * the event loop's delay), a line of running/queued/done counts, and a line per running task,
 * each drawn from that task's own latest state. Failures, retries and warnings are printed
 * above it as they happen. The display owns the terminal until `stop()`: the CLI's own
 * messages go through `log()`, so nothing is written in the middle of a redraw.
 */
export function attachProgressDisplay(feed: RunFeed, stream: NodeJS.WriteStream): Reporter {
  const frame = new TerminalFrame(stream);
  const running = new Map<string, RunningTask>();
  const shown = new Map<string, TaskState>();
  let loopP99 = 0;

  const onTask = (task: TaskRecord) => {
    const before = shown.get(task.key);
    shown.set(task.key, task.state);
    if (task.state === 'running' || task.state === 'cancelling') {
      // A counting task's last report says 1 as it finishes: that is not a total it knew.
      const counting = (running.get(task.key)?.counting ?? false) || (task.progress === null && task.progressMessage !== null);
      running.set(task.key, {
        id: task.id,
        kind: task.kind,
        state: task.state,
        progress: task.progress,
        message: task.progressMessage,
        startedAt: task.startedAt ?? Date.now(),
        counting,
      });
      return;
    }
    running.delete(task.key);
    if (before === task.state) return;
    if ((isTerminal(task.state) && task.state !== 'succeeded') || task.state === 'interrupted') frame.log(describeTaskEnd(task));
    else if (task.state === 'queued' && before !== undefined && task.error) frame.log(`${oneLine(task.id)} attempt ${task.attempts} ended (${oneLine(task.error.message)}); retrying`);
  };
  const onLog = (line: TaskLogLine) => {
    if (line.level !== 'info') frame.log(describeTaskLog(line));
  };
  const onTelemetry = (sample: TelemetrySample) => {
    loopP99 = sample.loop.delayP99Ms;
  };

  const summaryLines = (): string[] => {
    const c = feed.counts();
    const total = Object.values(c).reduce((sum, n) => sum + n, 0);
    const ended = c.succeeded + c.failed + c.cancelled + c.timed_out + c.skipped + c.interrupted;
    return [
      `${bar(total > 0 ? ended / total : 0)} ${ended}/${total} ended | loop delay p99 ${loopP99.toFixed(1)} ms`,
      `running ${c.running + c.cancelling} | queued ${c.queued} | done ${c.succeeded} | failed ${c.failed + c.timed_out} | cancelled ${c.cancelled + c.skipped}`,
    ];
  };
  const taskLine = (task: RunningTask, now: number): string => {
    // A running task's line is redrawn in place: a break in its id or message would add a line the frame does not count.
    const note = task.state === 'cancelling' ? ' cancelling' : task.message ? ` ${clipped(task.message, 60)}` : '';
    const label = `${clipped(task.id, 40)} (${oneLine(task.kind)})${note}`;
    // A kind that knows its total shows a bar; one that only counts (an SQL export's rows so far) shows its count.
    if (task.progress === null || task.counting) return `  ${`running ${elapsed(now - task.startedAt)}`.padEnd(BAR_WIDTH + 5)}| ${label}`;
    return `  ${bar(task.progress)} ${String(Math.round(task.progress * 100)).padStart(3)}% | ${label}`;
  };
  const redraw = () => {
    const now = Date.now();
    const tasks = [...running.values()];
    const lines = [...summaryLines(), ...tasks.slice(0, MAX_TASK_LINES).map((task) => taskLine(task, now))];
    if (tasks.length > MAX_TASK_LINES) lines.push(`  +${tasks.length - MAX_TASK_LINES} more running`);
    frame.draw(lines);
  };

  feed.on('task', onTask);
  feed.on('log', onLog);
  feed.on('telemetry', onTelemetry);
  const timer = setInterval(redraw, REDRAW_EVERY_MS);
  timer.unref();
  redraw();
  let stopped = false;
  return {
    log: (line) => frame.log(line),
    stop: () => {
      if (stopped) return;
      stopped = true;
      feed.off('task', onTask);
      feed.off('log', onLog);
      feed.off('telemetry', onTelemetry);
      clearInterval(timer);
      running.clear();
      frame.draw(summaryLines());
      frame.close({ keep: true });
    },
  };
}
