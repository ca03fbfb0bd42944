/**
 * Messages between the engine (main thread) and the pool's worker threads.
 * Tasks travel as piscina runs of a batch; everything a task says while it runs
 * (start, progress, logs) travels on a BroadcastChannel so that no per-task port is needed.
 */
import type { TaskError } from '../contract/records.js';

/** Given to every worker thread once, as piscina's `workerData`. */
export interface PoolWorkerData {
  /** One Int32 per task slot: non-zero asks the task in that slot to stop. */
  cancelFlags: SharedArrayBuffer;
  /** One Int32 per task slot: the worker's progress through it (see `TaskStage`). */
  taskStages: SharedArrayBuffer;
  /**
   * One Int32 per task slot: how many log lines its task has posted on the channel. The engine
   * ends a task only once that many have arrived (the outcome travels apart from them).
   */
  logCounts: SharedArrayBuffer;
  /** The BroadcastChannel the engine listens on. */
  channel: string;
  /** One Int32 per task slot, bumped by the engine when it has posted a reply to a `ctx.call`. */
  callSignals: SharedArrayBuffer;
  /** Prefix of the per-thread BroadcastChannels `ctx.call` replies travel on (see `callReplyChannel`). */
  callReplies: string;
  /**
   * The thread entry that exports one key range of a split `sql.query` export
   * (`workers/key-range-thread.ts`, built beside the pool's entry); null where the build has none,
   * and such exports are then read on the task's thread alone.
   */
  keyRangeThreadFile: string | null;
}

/** Written by the worker, read by the engine when a thread dies mid-batch. */
export const TaskStage = { notStarted: 0, running: 1, succeeded: 2, failed: 3 } as const;

export interface TaskEnvelope {
  key: string;
  kind: string;
  input: unknown;
  attempt: number;
  /** Index into `cancelFlags`. */
  slot: number;
}

export interface BatchRequest {
  /**
   * Names this hand-over, for the `started` event. Not the tasks' slots: that event comes on
   * another channel than the batch's result and may arrive after it, when a slot has been given
   * to a task of a later batch.
   */
  id: number;
  tasks: TaskEnvelope[];
}

export type TaskOutcome =
  | { key: string; ok: true; result: unknown; startedAt: number; finishedAt: number }
  | {
      key: string;
      ok: false;
      /** True when the task stopped because its cancel flag was raised. */
      cancelled: boolean;
      error: TaskError;
      startedAt: number;
      finishedAt: number;
    };

export interface BatchResult {
  threadId: number;
  /** The worker's V8 heap in bytes, sampled at most a few times a second (else null). */
  heapUsed: number | null;
  outcomes: TaskOutcome[];
}

export type WorkerEvent =
  /** Once per thread, before its first task: its kernel thread id, for the engine's memory watch (Linux). */
  | { type: 'thread'; threadId: number; tid: number }
  /** A batch began (its `BatchRequest.id`): every task still in it is running on this thread. */
  | { type: 'started'; threadId: number; batch: number; at: number }
  | { type: 'progress'; key: string; progress: number | null; message: string | null }
  | { type: 'log'; key: string; level: 'info' | 'warn' | 'error'; message: string; at: number }
  | { type: 'call'; callId: number; threadId: number; slot: number; key: string; name: string; args: unknown[] };

/** The engine's answer to a `call` event, posted on the calling thread's reply channel. */
export type CallReply =
  | { callId: number; ok: true; value: unknown }
  | { callId: number; ok: false; error: { name: string; message: string; code: string } };

/** The BroadcastChannel a thread reads its `ctx.call` replies from. */
export function callReplyChannel(prefix: string, threadId: number): string {
  return `${prefix}:${threadId}`;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
