/**
 * The main-thread side of `ctx.call`: async services by name, and the server that runs them for
 * pool tasks and wakes the calling thread with the answer (see workers/call-bridge.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BroadcastChannel } from 'node:worker_threads';
import type { CallReply, WorkerEvent } from '../../shared/pool-protocol.js';
import { callReplyChannel } from '../../shared/pool-protocol.js';
import { fetchFailure, requestBody } from './loop-kinds/http-fetch.js';

export interface CallServiceContext {
  /** Aborted when the calling task is cancelled, times out or the engine shuts down. */
  signal: AbortSignal;
  /** The calling task's `<jobId>:<taskId>` key. */
  taskKey: string;
}

/**
 * An async service a pool task reaches with `ctx.call(name, ...args)`. Arguments and result
 * cross threads by structured clone; a thrown error reaches the task with its message and code.
 */
export type CallService = (args: unknown[], context: CallServiceContext) => unknown;

export type CallServiceMap = Readonly<Record<string, CallService>>;

export class CallServiceError extends Error {
  override name = 'CallServiceError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Waits `ms` milliseconds on the event loop; resolves with the time waited. */
const sleepService: CallService = async ([ms], { signal }) => {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new CallServiceError(`sleep expects a number of milliseconds of 0 or more (got ${JSON.stringify(ms)})`, 'BAD_ARGUMENT');
  }
  const start = performance.now();
  await sleep(ms, undefined, { signal });
  return performance.now() - start;
};

interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; another value as JSON. */
  body?: unknown;
}

/** `fetch(url, {method, headers, body})`: resolves with the status, headers and body text. */
const fetchService: CallService = async ([url, init], { signal }) => {
  if (typeof url !== 'string') throw new CallServiceError(`fetch expects a URL string (got ${JSON.stringify(url)})`, 'BAD_ARGUMENT');
  const { method, headers, body } = (init ?? {}) as FetchInit;
  let response: Response;
  try {
    response = await fetch(url, { method, signal, ...requestBody(headers, body) });
  } catch (error) {
    throw fetchFailure(error, method ?? 'GET', url);
  }
  return {
    url: response.url,
    status: response.status,
    statusText: response.statusText,
    ok: response.ok,
    headers: Object.fromEntries(response.headers),
    text: await response.text(),
  };
};

/** The services every engine offers; `EngineOptions.services` adds to (or replaces) them. */
export function defaultCallServices(): CallServiceMap {
  return { fetch: fetchService, sleep: sleepService };
}

interface PendingCall {
  callId: number;
  abort: AbortController;
}

/**
 * Runs the services pool tasks call. One call at most is pending per task slot (the calling
 * thread blocks until its answer), so pending calls are kept by slot.
 */
export class CallServer {
  readonly signalsBuffer: SharedArrayBuffer;
  readonly replyChannelPrefix: string;
  private readonly signals: Int32Array;
  private readonly services: Map<string, CallService>;
  private readonly replyChannels = new Map<number, BroadcastChannel>();
  private readonly pending = new Map<number, PendingCall>();
  private closed = false;

  constructor(channelName: string, slotCount: number, extra: CallServiceMap = {}) {
    this.signalsBuffer = new SharedArrayBuffer(slotCount * 4);
    this.signals = new Int32Array(this.signalsBuffer);
    this.replyChannelPrefix = `${channelName}:calls`;
    this.services = new Map(Object.entries({ ...defaultCallServices(), ...extra }));
  }

  serve(event: Extract<WorkerEvent, { type: 'call' }>): void {
    const { callId, threadId, slot, name } = event;
    // A malformed message cannot be answered (nobody to wake); it can only be ignored.
    if (!Number.isInteger(callId) || !Number.isInteger(threadId) || !Number.isInteger(slot) || slot < 0 || slot >= this.signals.length) return;
    const service = typeof name === 'string' ? this.services.get(name) : undefined;
    if (!service) {
      const known = [...this.services.keys()].sort().join(', ');
      const shown = typeof name === 'string' ? JSON.stringify(name) : `of type ${typeof name}`;
      this.reply(threadId, slot, { callId, ok: false, error: { name: 'Error', code: 'UNKNOWN_SERVICE', message: `no service named ${shown}; the engine offers ${known}` } });
      return;
    }
    const abort = new AbortController();
    this.pending.get(slot)?.abort.abort();
    this.pending.set(slot, { callId, abort });
    const args = Array.isArray(event.args) ? event.args : [];
    Promise.resolve()
      .then(() => service(args, { signal: abort.signal, taskKey: typeof event.key === 'string' ? event.key : '' }))
      .then(
        (value) => this.finish(threadId, slot, { callId, ok: true, value }),
        (error: unknown) => this.finish(threadId, slot, { callId, ok: false, error: describeError(error) }),
      );
  }

  /** The task in `slot` is being stopped: its pending call, if any, is aborted. */
  abandon(slot: number): void {
    this.pending.get(slot)?.abort.abort(new Error('the calling task was stopped'));
    this.pending.delete(slot);
  }

  private finish(threadId: number, slot: number, reply: CallReply): void {
    const pending = this.pending.get(slot);
    if (pending?.callId !== reply.callId) return; // abandoned: nobody waits for it
    this.pending.delete(slot);
    this.reply(threadId, slot, reply);
  }

  private reply(threadId: number, slot: number, reply: CallReply): void {
    if (this.closed) return;
    let channel = this.replyChannels.get(threadId);
    if (!channel) {
      channel = new BroadcastChannel(callReplyChannel(this.replyChannelPrefix, threadId));
      channel.unref();
      this.replyChannels.set(threadId, channel);
    }
    try {
      channel.postMessage(reply);
    } catch (error) {
      const message = `the service's result cannot be sent to the worker thread (${(error as Error).message})`;
      channel.postMessage({ callId: reply.callId, ok: false, error: { name: 'Error', code: 'DATA_CLONE', message } } satisfies CallReply);
    }
    // The reply is in the thread's channel before the signal moves, so a woken thread finds it.
    Atomics.add(this.signals, slot, 1);
    Atomics.notify(this.signals, slot);
  }

  close(): void {
    this.closed = true;
    for (const call of this.pending.values()) call.abort.abort(new Error('the engine is shutting down'));
    this.pending.clear();
    for (const channel of this.replyChannels.values()) channel.close();
    this.replyChannels.clear();
  }
}

function describeError(error: unknown): { name: string; message: string; code: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message || error.name, code: typeof code === 'string' && code ? code : 'CALL_FAILED' };
  }
  return { name: 'Error', message: `the service threw a non-Error value: ${String(error)}`, code: 'CALL_FAILED' };
}
