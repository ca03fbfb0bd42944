/**
 * The one piscina worker entry. It runs a batch of tasks one after another, dispatching on
 * each task's kind, and reports start, progress and logs on the engine's BroadcastChannel.
 */
import { readlinkSync } from 'node:fs';
// piscina gives a thread its workerData as Node's own: taken from piscina, it would load the
// whole pool's code into every thread.
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads';
import { poolHandler } from './handlers/index.js';
import type { BatchRequest, BatchResult, PoolWorkerData, TaskEnvelope, TaskOutcome, WorkerEvent } from '../shared/pool-protocol.js';
import { preciseNow, TaskStage } from '../shared/pool-protocol.js';
import { WorkerTaskContext, type TaskContextDeps } from './task-context.js';
import { MAX_NESTING_DEPTH, tooDeepAt } from '../shared/nesting.js';
import { TaskCancelledError, TaskInputError, toTaskError } from '../shared/task-errors.js';

const HEAP_SAMPLE_INTERVAL_MS = 250;

const data = workerData as PoolWorkerData;
const channel = new BroadcastChannel(data.channel);
channel.unref();
const deps: TaskContextDeps = {
  cancelFlags: new Int32Array(data.cancelFlags),
  taskStages: new Int32Array(data.taskStages),
  logCounts: new Int32Array(data.logCounts),
  post: (event: WorkerEvent) => channel.postMessage(event),
};
let lastHeapAt = 0;
/**
 * node:v8, loaded with the first heap sample: not on the way to the thread's first task (about
 * half a millisecond of a boot). Not with `import()`, which would start the ES module loader in a
 * CommonJS bundle's thread.
 */
let heapStatistics: (() => { used_heap_size: number }) | null = null;
announceThread();

/**
 * Tells the engine which kernel thread this is, so that it can read this thread's page faults
 * from outside while a task keeps it busy. Read synchronously: the link names the calling thread.
 */
function announceThread(): void {
  let link: string;
  try {
    link = readlinkSync('/proc/thread-self');
  } catch {
    return; // not Linux: the engine watches the process as a whole
  }
  const tid = Number(link.slice(link.lastIndexOf('/') + 1));
  if (Number.isSafeInteger(tid)) deps.post({ type: 'thread', threadId, tid });
}

async function runOne(task: TaskEnvelope): Promise<TaskOutcome> {
  Atomics.store(deps.taskStages, task.slot, TaskStage.running);
  const outcome = await settle(task);
  // If a later task of the batch ends the thread, the engine still knows this one ran.
  Atomics.store(deps.taskStages, task.slot, outcome.ok ? TaskStage.succeeded : TaskStage.failed);
  return outcome;
}

async function settle(task: TaskEnvelope): Promise<TaskOutcome> {
  const startedAt = preciseNow();
  const ctx = new WorkerTaskContext(deps, task.key, task.attempt, task.slot);
  try {
    let handler = poolHandler(task.kind);
    if (handler instanceof Promise) handler = await handler;
    if (!handler) throw Object.assign(new Error(`no pool handler for kind "${task.kind}"`), { code: 'UNKNOWN_KIND' });
    ctx.throwIfCancelled();
    let result = handler(task.input, ctx);
    if (result instanceof Promise) result = await result;
    // The engine could not read it back (its structured clone recurses per level): the task would never end.
    if (tooDeepAt(result) !== null) throw new TaskInputError(`the result nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep; the limit is ${MAX_NESTING_DEPTH}`, 'BAD_RESULT');
    return { key: task.key, ok: true, result: result ?? null, startedAt, finishedAt: preciseNow() };
  } catch (thrown) {
    const cancelled = thrown instanceof TaskCancelledError || ctx.cancelled;
    return { key: task.key, ok: false, cancelled, error: toTaskError(thrown), startedAt, finishedAt: preciseNow() };
  }
}

/**
 * Loads the handlers of the batch's kinds that this thread has not loaded yet. Before the batch
 * starts: a task is running once its handler can run, so a cancel during the load finds it not
 * begun, and a stuck handler has begun when the engine hears of the start. A module that fails
 * to load fails its tasks when they ask for it again.
 */
async function loadHandlers(tasks: readonly TaskEnvelope[]): Promise<void> {
  for (const task of tasks) {
    // A loaded kind answers at once (one map lookup), so a batch of tiny tasks pays nothing here.
    const handler = poolHandler(task.kind);
    if (handler instanceof Promise) await handler.catch(() => {});
  }
}

export default async function runBatch(request: BatchRequest): Promise<BatchResult> {
  // The engine's way of making piscina offer its queue to an idle thread: nothing to run or say.
  if (request.tasks.length === 0) return { threadId, heapUsed: null, outcomes: [] };
  await loadHandlers(request.tasks);
  // The first task is under way from here on: say so before the engine hears of the start, so a
  // cancel that follows the start message never finds it "not begun".
  const first = request.tasks[0];
  if (first) Atomics.store(deps.taskStages, first.slot, TaskStage.running);
  deps.post({ type: 'started', threadId, batch: request.id, at: preciseNow() });
  const outcomes: TaskOutcome[] = [];
  for (const task of request.tasks) outcomes.push(await runOne(task));
  const now = Date.now();
  let heapUsed: number | null = null;
  if (now - lastHeapAt >= HEAP_SAMPLE_INTERVAL_MS) {
    lastHeapAt = now;
    heapStatistics ??= process.getBuiltinModule('node:v8').getHeapStatistics;
    heapUsed = heapStatistics().used_heap_size;
  }
  return { threadId, heapUsed, outcomes };
}
