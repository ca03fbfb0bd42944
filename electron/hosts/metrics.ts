/**
 * The engine's figures in the Prometheus text format (prom-client, on a registry of its own so
 * that nothing else in the process can add to or clash with it). No HTTP here: `threadline
 * serve` and the desktop app's loopback endpoint both answer `GET /metrics` with `render()`.
 *
 * Names follow Prometheus' naming guide: prefix `threadline_`, base units in the name
 * (`_seconds`, `_bytes`, `_ratio`), `_total` for counters.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SCHEDULE_RUN_OUTCOMES, type ScheduleTrigger } from '../../contract/schedule.js';
import { isTerminal, type TaskState } from '../../contract/task-states.js';
import type { RemoteMachine, TelemetrySample } from '../../contract/telemetry.js';
import type { HostEngine } from '../engine/engine.js';
import type { TaskView } from '../engine/task.js';
import type { Scheduler } from '../schedules/scheduler.js';

export interface ThreadlineMetrics {
  readonly contentType: string;
  /** The whole exposition, as a scrape gets it. */
  render(): Promise<string>;
  /** Stops listening to the engine and scheduler. */
  close(): void;
}

/** Task durations span a sub-millisecond hash to an hour-long export. */
const DURATION_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

const MACHINE_STATES: readonly RemoteMachine['state'][] = ['ready', 'draining', 'lost'];
const SCHEDULE_TRIGGERS: readonly ScheduleTrigger[] = ['due', 'catch-up', 'manual'];

/** A task has ended (for the counters) when it reaches one of these; `interrupted` may run again later. */
function hasEnded(state: TaskState): boolean {
  return isTerminal(state) || state === 'interrupted';
}

export function createMetrics(engine: HostEngine, scheduler?: Scheduler): ThreadlineMetrics {
  const registry = new Registry();
  const prefix = 'threadline_';
  let latest: TelemetrySample | null = engine.telemetryHistory().at(-1) ?? null;
  const onTelemetry = (sample: TelemetrySample) => (latest = sample);
  engine.on('telemetry', onTelemetry);
  const sample = () => latest;

  const tasks = new Counter({
    name: `${prefix}tasks_total`,
    help: 'Tasks that ended since the host started, by kind and final state (succeeded, failed, timed_out, cancelled, skipped, interrupted).',
    labelNames: ['kind', 'state'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}task_duration_seconds`,
    help: 'How long ended tasks ran (their last attempt), by kind.',
    labelNames: ['kind'],
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [registry],
  });
  // The engine reports a task on every change; a state seen per live task object tells which change ended it.
  const seen = new WeakMap<TaskView, TaskState>();
  const onTask = (task: TaskView) => {
    const before = seen.get(task);
    if (before === task.state) return;
    seen.set(task, task.state);
    if (!hasEnded(task.state)) return;
    tasks.inc({ kind: task.kind, state: task.state });
    if (task.startedAt !== null && task.finishedAt !== null && task.finishedAt >= task.startedAt) {
      duration.observe({ kind: task.kind }, (task.finishedAt - task.startedAt) / 1000);
    }
  };
  engine.on('task', onTask);

  const gauge = (name: string, help: string, collect: (this: Gauge) => void, labelNames: string[] = []) =>
    new Gauge({ name: `${prefix}${name}`, help, labelNames, registers: [registry], collect });

  gauge('tasks_queued', 'Tasks waiting for a thread or for the event loop (the queue depth).', function () {
    this.set(engine.stateCounts().queued);
  });
  gauge('tasks_running', 'Tasks running now, those being cancelled included.', function () {
    const counts = engine.stateCounts();
    this.set(counts.running + counts.cancelling);
  });
  gauge('event_loop_delay_p50_seconds', "The main event loop's delay, median over the last telemetry interval.", function () {
    const s = sample();
    if (s) this.set(s.loop.delayP50Ms / 1000);
  });
  gauge('event_loop_delay_p99_seconds', "The main event loop's delay, 99th percentile over the last telemetry interval.", function () {
    const s = sample();
    if (s) this.set(s.loop.delayP99Ms / 1000);
  });
  gauge('event_loop_delay_max_seconds', "The main event loop's longest delay over the last telemetry interval.", function () {
    const s = sample();
    if (s) this.set(s.loop.delayMaxMs / 1000);
  });
  gauge('event_loop_utilization_ratio', 'Share of the last telemetry interval the main event loop was busy (0 to 1).', function () {
    const s = sample();
    if (s) this.set(s.loop.utilization);
  });
  gauge('process_resident_memory_bytes', "The host process's resident set size.", function () {
    this.set(process.memoryUsage.rss());
  });
  gauge('process_heap_used_bytes', "The main thread's V8 heap in use.", function () {
    this.set(process.memoryUsage().heapUsed);
  });
  gauge('process_heap_total_bytes', "The main thread's V8 heap, allocated.", function () {
    this.set(process.memoryUsage().heapTotal);
  });
  gauge(
    'worker_heap_used_bytes',
    "Each pool thread's V8 heap in use (reported after its tasks).",
    function () {
      this.reset();
      for (const worker of sample()?.workers ?? []) if (worker.heapUsed !== null) this.set({ thread: String(worker.threadId) }, worker.heapUsed);
    },
    ['thread'],
  );
  gauge(
    'worker_utilization_ratio',
    'Share of the last telemetry interval each pool thread was busy (0 to 1).',
    function () {
      this.reset();
      for (const worker of sample()?.workers ?? []) this.set({ thread: String(worker.threadId) }, worker.utilization);
    },
    ['thread'],
  );
  gauge('pool_utilization_ratio', 'Share of the last telemetry interval the pool threads were busy, all together (0 to 1).', function () {
    const s = sample();
    if (s) this.set(s.poolUtilization);
  });
  gauge('pool_threads', 'Threads in the worker pool now.', function () {
    this.set(engine.poolThreads());
  });

  // Remote worker machines, from the same sample as the dashboard's Workers panel: a machine
  // that leaves the engine's list leaves the scrape too.
  gauge(
    'remote_machine_threads',
    'Threads each remote worker machine offers (its --workers).',
    function () {
      this.reset();
      for (const machine of sample()?.machines ?? []) this.set({ machine: machine.name }, machine.threads);
    },
    ['machine'],
  );
  gauge(
    'remote_machine_tasks_running',
    'Tasks running on each remote worker machine now, as the engine counts them.',
    function () {
      this.reset();
      for (const machine of sample()?.machines ?? []) this.set({ machine: machine.name }, machine.running);
    },
    ['machine'],
  );
  gauge(
    'remote_machine_state',
    'The state of each remote worker machine: 1 on its current state (ready, draining, lost), 0 on the others.',
    function () {
      this.reset();
      for (const machine of sample()?.machines ?? []) {
        for (const state of MACHINE_STATES) this.set({ machine: machine.name, state }, machine.state === state ? 1 : 0);
      }
    },
    ['machine', 'state'],
  );

  let scheduleRuns: Counter | null = null;
  const onRun = scheduler ? (name: string, run: { outcome: string; trigger: string }) => scheduleRuns?.inc({ schedule: name, outcome: run.outcome, trigger: run.trigger }) : null;
  // A removed schedule's counts go with it: names added and removed must not grow the scrape for ever.
  const onRemoved = (name: string) => {
    for (const outcome of SCHEDULE_RUN_OUTCOMES) for (const trigger of SCHEDULE_TRIGGERS) scheduleRuns?.remove({ schedule: name, outcome, trigger });
  };
  if (scheduler && onRun) {
    gauge(
      'schedule_next_run_timestamp_seconds',
      'When each active schedule runs next, in seconds since the Unix epoch (paused schedules are left out).',
      function () {
        this.reset();
        for (const { name, nextRunAt } of scheduler.nextRuns()) if (nextRunAt !== null) this.set({ schedule: name }, nextRunAt / 1000);
      },
      ['schedule'],
    );
    scheduleRuns = new Counter({
      name: `${prefix}schedule_runs_total`,
      help: 'Due times of schedules handled since the host started, by outcome (started, skipped, missed) and trigger (due, catch-up, manual).',
      labelNames: ['schedule', 'outcome', 'trigger'],
      registers: [registry],
    });
    scheduler.on('run', onRun);
    scheduler.on('removed', onRemoved);
  }

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    close() {
      engine.off('telemetry', onTelemetry);
      engine.off('task', onTask);
      if (scheduler && onRun) {
        scheduler.off('run', onRun);
        scheduler.off('removed', onRemoved);
      }
    },
  };
}
