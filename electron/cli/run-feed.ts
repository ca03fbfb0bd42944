import { EventEmitter } from 'node:events';
import type { TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import type { TaskState } from '../../contract/task-states.js';
import type { Engine } from '../engine/engine.js';

export interface RunFeedEvents {
  /** A task of the followed jobs changed. The record may be live: copy what you keep. */
  task: [task: TaskRecord];
  log: [line: TaskLogLine];
  telemetry: [sample: TelemetrySample];
}

/**
 * What the terminal reporters of `run` and `resume` follow: the tasks of the jobs they run,
 * whether the engine is in this process or in the `serve` that owns the data directory.
 */
export class RunFeed extends EventEmitter<RunFeedEvents> {
  constructor(
    /** How many of the followed tasks are in each state. */
    readonly counts: () => Record<TaskState, number>,
  ) {
    super();
  }
}

/** The feed of an engine in this process: every task it holds is one of ours. */
export function engineFeed(engine: Engine): { feed: RunFeed; detach: () => void } {
  const feed = new RunFeed(() => engine.stateCounts());
  const onTask = (task: TaskRecord) => feed.emit('task', task);
  const onLog = (line: TaskLogLine) => feed.emit('log', line);
  const onTelemetry = (sample: TelemetrySample) => feed.emit('telemetry', sample);
  engine.on('task', onTask);
  engine.on('log', onLog);
  engine.on('telemetry', onTelemetry);
  return {
    feed,
    detach: () => {
      engine.off('task', onTask);
      engine.off('log', onLog);
      engine.off('telemetry', onTelemetry);
    },
  };
}
