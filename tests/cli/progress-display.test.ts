/**
 * The live display's line for one running task, fed the records the engine sends, in the
 * order it sends them. Timers are faked so that a redraw falls exactly where the test puts it:
 * between a task's last report and its end, the moment a real run hits only now and then.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import { TASK_STATES, type TaskState } from '../../contract/task-states.js';
import { attachProgressDisplay } from '../../electron/cli/progress-display.js';
import { RunFeed } from '../../electron/cli/run-feed.js';
import { TerminalScreen } from './terminal-screen.js';

function record(kind: string, state: TaskState, progress: number | null, progressMessage: string | null): TaskRecord {
  return {
    key: 'j-1:t', jobId: 'j-1', id: 't', kind, input: {}, priority: 0, timeoutMs: null, retries: 0, retryBackoffMs: 0,
    dependsOn: [], state, attempts: 1, queuedAt: 0, startedAt: Date.now(), finishedAt: null, worker: 'w1',
    progress, progressMessage, error: null, result: null,
  };
}

/** Feeds `records` to a display, one redraw after each, and returns the task's line of each frame drawn. */
function linesDrawn(records: TaskRecord[]): string[] {
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  counts.running = 1;
  const feed = new RunFeed(() => counts);
  let output = '';
  const stream = { columns: 120, isTTY: true, write: (text: string) => ((output += text), true) } as unknown as NodeJS.WriteStream;
  const display = attachProgressDisplay(feed, stream);
  for (const r of records) {
    feed.emit('task', r);
    vi.advanceTimersByTime(100);
  }
  display.stop();
  return new TerminalScreen().write(output).frames.flatMap((frame) => frame.filter((line) => line.includes('| t (')));
}

describe('the live display of a running task', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps counting a task that counted, even when its last report says 1 as it finishes', () => {
    const lines = linesDrawn([
      record('sql.query', 'running', null, null),
      record('sql.query', 'running', null, '65536 rows'),
      record('sql.query', 'running', 1, '1500000 rows'),
    ]);
    expect(lines.at(-1)).toMatch(/^ {2}running \d+\.\ds +\| t \(sql\.query\) 1500000 rows$/);
    expect(lines.some((line) => /%/.test(line))).toBe(false);
  });

  it('shows a bar for a task that knows its total, from the first report to the last', () => {
    const lines = linesDrawn([
      record('file.hash', 'running', null, null),
      record('file.hash', 'running', 0.5, '1 of 2 files'),
      record('file.hash', 'running', 1, '2 of 2 files'),
    ]);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}\u2588{12}\u2591{12} +50% \| t \(file\.hash\) 1 of 2 files$/));
    expect(lines.at(-1)).toMatch(/^ {2}\u2588{24} 100% \| t \(file\.hash\) 2 of 2 files$/);
  });
});
