/**
 * The worker side of `ctx.call`: a synchronous call into an async service on the main thread.
 * The worker posts the call on the engine's channel and blocks this thread only, in
 * `Atomics.wait` on its slot's signal; the engine posts the reply on this thread's reply channel
 * and bumps the signal; the worker then takes the reply with `receiveMessageOnPort`, which reads
 * a channel synchronously, without the event loop this thread is not running.
 */
// Node's workerData is piscina's (see entry.ts).
import { BroadcastChannel, receiveMessageOnPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import type { CallReply, PoolWorkerData, WorkerEvent } from '../shared/pool-protocol.js';
import { callReplyChannel } from '../shared/pool-protocol.js';
import { TaskCancelledError, TaskInputError } from '../shared/task-errors.js';

/** How long the thread sleeps between looks at its cancel flag while a call is pending. */
const CANCEL_CHECK_MS = 50;

export interface CallSite {
  key: string;
  slot: number;
  isCancelled(): boolean;
}

export class CallBridge {
  private nextCallId = 1;

  constructor(
    private readonly signals: Int32Array,
    private readonly post: (event: WorkerEvent) => void,
    private readonly replies: BroadcastChannel,
  ) {}

  call(site: CallSite, name: string, args: unknown[]): unknown {
    if (typeof name !== 'string' || name === '') throw new TaskInputError('ctx.call expects a service name as its first argument', 'BAD_CALL');
    if (site.isCancelled()) throwCancelled();
    const callId = this.nextCallId++;
    try {
      this.post({ type: 'call', callId, threadId, slot: site.slot, key: site.key, name, args });
    } catch (error) {
      throw new TaskInputError(`ctx.call("${name}"): its arguments cannot be sent to the main thread (${(error as Error).message})`, 'DATA_CLONE');
    }
    for (;;) {
      // Read the signal before looking for the reply: a reply posted after the look bumps it,
      // so the wait below returns at once instead of sleeping through it.
      const seen = Atomics.load(this.signals, site.slot);
      const reply = this.takeReply(callId);
      if (reply) return settle(reply);
      if (site.isCancelled()) throwCancelled();
      Atomics.wait(this.signals, site.slot, seen, CANCEL_CHECK_MS);
    }
  }

  /** Drains this thread's reply channel up to the wanted reply; older ones belong to abandoned calls. */
  private takeReply(callId: number): CallReply | null {
    for (;;) {
      // Node reads a BroadcastChannel here too; its type declarations only name MessagePort.
      const received = receiveMessageOnPort(this.replies as unknown as MessagePort) as { message: CallReply } | undefined;
      if (!received) return null;
      if (received.message?.callId === callId) return received.message;
    }
  }
}

function throwCancelled(): never {
  throw new TaskCancelledError();
}

function settle(reply: CallReply): unknown {
  if (reply.ok === true) return reply.value;
  const described = (reply as { error?: Partial<Record<'name' | 'message' | 'code', unknown>> }).error ?? {};
  const error = new Error(typeof described.message === 'string' ? described.message : 'the service failed');
  if (typeof described.name === 'string' && described.name) error.name = described.name;
  (error as Error & { code: string }).code = typeof described.code === 'string' ? described.code : 'CALL_FAILED';
  throw error;
}

let bridge: CallBridge | null = null;

/** This thread's bridge, set up on the first call (most tasks never make one). */
export function callBridge(): CallBridge {
  if (bridge) return bridge;
  const data = workerData as Partial<PoolWorkerData> | undefined;
  if (!data?.callSignals || !data.callReplies || !data.channel) {
    throw new TaskInputError('ctx.call is only available to tasks running on the worker pool', 'NO_CALL_SERVICES');
  }
  const replies = new BroadcastChannel(callReplyChannel(data.callReplies, threadId));
  replies.unref();
  const calls = new BroadcastChannel(data.channel);
  calls.unref();
  bridge = new CallBridge(new Int32Array(data.callSignals), (event) => calls.postMessage(event), replies);
  return bridge;
}
