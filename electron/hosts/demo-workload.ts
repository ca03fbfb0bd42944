import { validateJobSpec, type JobSpec } from '../../contract/job-spec.js';
import { cpu } from '../../workers/handlers/demo.js';
import type { TaskContext } from '../../workers/task-context.js';

/**
 * The "Run demo" workload: a mix of the demo kinds that fills the timeline within a second and
 * keeps both pool threads busy for several seconds, with something to cancel (cooperative CPU
 * work, and a thread stuck in a synchronous call), a failure that retries, memory to watch,
 * async waits on the loop and a burst of tiny tasks.
 */
export const DEMO_JOB_DOCUMENT = {
  name: 'demo',
  onFailure: 'continue',
  tasks: [
    ...[500, 800, 400, 1000, 600, 300, 900, 500].map((ms, i) => ({ id: `crunch-${i + 1}`, kind: 'demo.cpu', ms })),
    { id: 'stuck-sync-call', kind: 'demo.block', ms: 6000, priority: -1 },
    { id: 'allocate-128mb', kind: 'demo.alloc', mb: 128, holdMs: 800 },
    { id: 'flaky', kind: 'demo.fail', message: 'the demo failure (it retries once, then fails)', ms: 300, retries: 1, retryBackoffMs: 500 },
    ...[400, 900, 1500, 2500].map((ms, i) => ({ id: `wait-${i + 1}`, kind: 'demo.sleep', ms })),
    ...Array.from({ length: 60 }, (_, i) => ({ id: `tiny-${i + 1}`, kind: 'demo.echo', value: i + 1, priority: 1 })),
    { id: 'summarize', kind: 'demo.cpu', ms: 400, dependsOn: ['crunch-1', 'crunch-2', 'crunch-3'] },
    { id: 'after-failure', kind: 'demo.echo', value: 'never runs: its dependency fails', dependsOn: ['flaky'] },
  ],
};

export function demoJobSpec(): JobSpec {
  const result = validateJobSpec(DEMO_JOB_DOCUMENT);
  if (!result.ok) throw new Error(`the demo job is invalid: ${JSON.stringify(result.issues)}`);
  return result.spec;
}

/** The demo's CPU work, task by task: what the inline run does on the main thread. */
export function demoCpuSlices(spec: JobSpec = demoJobSpec()): number[] {
  return spec.tasks.filter((task) => task.kind === 'demo.cpu').map((task) => task.input.ms as number);
}

const neverCancelled: TaskContext = {
  key: 'inline',
  attempt: 1,
  cancelled: false,
  throwIfCancelled: () => {},
  progress: () => {},
  log: () => {},
};

/** What an inline run measured on the main thread. */
export interface InlineDemoRun {
  /** Slices run, each one task's CPU work, with a turn of the loop between them. */
  slices: number;
  /** Their measured time in all: the loop was blocked this long, in `slices` stalls. */
  blockedMs: number;
  /** The longest single stall: what the loop-delay monitor sees as its maximum. */
  longestStallMs: number;
}

/**
 * Runs the demo's CPU work on the calling (main) thread, one task's worth per turn of the event
 * loop: each slice blocks the loop as the pool would have spared it from. Resolves, when done,
 * with what it measured.
 */
export async function runDemoInline(slices: number[] = demoCpuSlices()): Promise<InlineDemoRun> {
  const run: InlineDemoRun = { slices: 0, blockedMs: 0, longestStallMs: 0 };
  for (const ms of slices) {
    // A turn of the loop between slices: what was waiting (replies, deltas) goes out.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const start = performance.now();
    cpu({ ms, cooperative: false }, neverCancelled);
    const stall = performance.now() - start;
    run.slices++;
    run.blockedMs += stall;
    run.longestStallMs = Math.max(run.longestStallMs, stall);
  }
  return run;
}
