import {
  API_WEBSOCKET_PATH,
  ApiCallError,
  resultMessageSchema,
  TOKEN_QUERY_PARAM,
  type ApiEventListener,
  type ApiMethod,
  type ApiParams,
  type ApiResults,
  type ClientMessage,
  type ThreadlineApi,
} from '../../../contract/api';
import { checkEvent } from './event-check';

export type ConnectionStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open' }
  | { state: 'closed'; attempt: number; retryInMs: number };

export interface WebSocketApiOptions {
  /** `ws://host:port/api?token=...`; see `apiSocketUrl`. */
  url: string;
  onStatus?: (status: ConnectionStatus) => void;
  /** A message from the host that does not match the contract (it is dropped). */
  onBadMessage?: (problem: string) => void;
  /** For tests: the WebSocket class to use. */
  WebSocketImpl?: typeof WebSocket;
  maxRetryMs?: number;
}

export interface WebSocketApi extends ThreadlineApi {
  /** Closes the socket for good; pending calls fail. */
  close(): void;
}

/** The API socket of the page's own origin, carrying the page's token. */
export function apiSocketUrl(location: Pick<Location, 'protocol' | 'host' | 'search'>): string | null {
  const token = new URLSearchParams(location.search).get(TOKEN_QUERY_PARAM);
  if (!token) return null;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${API_WEBSOCKET_PATH}?${TOKEN_QUERY_PARAM}=${encodeURIComponent(token)}`;
}

interface PendingCall {
  method: ApiMethod;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * ThreadlineApi over one WebSocket (what `threadline serve` offers a browser). Calls are
 * matched to results by id; the event stream survives a dropped connection by reconnecting
 * and subscribing again, which starts over from a snapshot.
 */
export function createWebSocketApi(options: WebSocketApiOptions): WebSocketApi {
  const Impl = options.WebSocketImpl ?? WebSocket;
  const maxRetryMs = options.maxRetryMs ?? 5000;
  const listeners = new Set<ApiEventListener>();
  const pending = new Map<number, PendingCall>();
  const outbox: ClientMessage[] = [];
  let socket: WebSocket | null = null;
  let nextId = 1;
  let attempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closedForGood = false;
  /** Events are checked (large ones in slices) and delivered strictly in the order they came. */
  let delivery: Promise<void> = Promise.resolve();

  const status = (s: ConnectionStatus): void => options.onStatus?.(s);

  function connect(): void {
    if (socket || closedForGood) return;
    attempt++;
    status({ state: 'connecting', attempt });
    const ws = new Impl(options.url);
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      status({ state: 'open' });
      if (listeners.size > 0) ws.send(JSON.stringify({ type: 'subscribe' } satisfies ClientMessage));
      for (const message of outbox.splice(0)) ws.send(JSON.stringify(message));
    };
    ws.onmessage = (event) => receive(event.data);
    ws.onclose = () => {
      socket = null;
      // A call not yet sent must not run later: its caller is told it failed.
      outbox.length = 0;
      failPending('the connection to the Threadline host closed');
      if (closedForGood) return;
      const retryInMs = Math.min(maxRetryMs, 250 * 2 ** Math.min(attempt, 8));
      status({ state: 'closed', attempt, retryInMs });
      // Reconnect while someone listens; a call made later connects again by itself.
      if (listeners.size > 0) retryTimer = setTimeout(() => ((retryTimer = null), connect()), retryInMs);
    };
  }

  function failPending(reason: string): void {
    for (const [id, call] of pending) {
      pending.delete(id);
      call.reject(new Error(`${call.method}: ${reason}`));
    }
  }

  function send(message: ClientMessage): void {
    if (socket?.readyState === Impl.OPEN) socket.send(JSON.stringify(message));
    else {
      outbox.push(message);
      connect();
    }
  }

  function receive(data: unknown): void {
    let message: unknown;
    try {
      message = JSON.parse(String(data));
    } catch {
      options.onBadMessage?.('a message that is not JSON');
      return;
    }
    if (isResult(message)) {
      const parsed = resultMessageSchema.safeParse(message);
      const call = pending.get(message.id);
      if (!call) return;
      pending.delete(message.id);
      if (!parsed.success) call.reject(new Error(`${call.method}: the host answered with a malformed result`));
      else if (parsed.data.ok) call.resolve(parsed.data.value);
      else call.reject(new ApiCallError(parsed.data.error));
      return;
    }
    delivery = delivery
      .then(async () => {
        const checked = await checkEvent(message);
        if (!checked.ok) options.onBadMessage?.(checked.problem);
        else if (!closedForGood) for (const listener of [...listeners]) listener(checked.event);
      })
      // One event that could not be handled must not hold up the ones after it.
      .catch((error: unknown) => options.onBadMessage?.(`an event that could not be handled: ${error instanceof Error ? error.message : String(error)}`));
  }

  function call<M extends ApiMethod>(method: M, params: ApiParams<M> | undefined): Promise<ApiResults[M]> {
    if (closedForGood) return Promise.reject(new Error(`${method}: the API is closed`));
    const id = nextId++;
    return new Promise<ApiResults[M]>((resolve, reject) => {
      pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject });
      send({ type: 'call', id, method, params: params ?? {} });
    });
  }

  return {
    snapshot: (params) => call('snapshot', params),
    submitJob: (params) => call('submitJob', params),
    cancelTask: (params) => call('cancelTask', params),
    cancelJob: (params) => call('cancelJob', params),
    cancelAll: (params) => call('cancelAll', params),
    retryTask: (params) => call('retryTask', params),
    taskDetail: (params) => call('taskDetail', params),
    runDemo: (params) => call('runDemo', params),
    listJobs: (params) => call('listJobs', params),
    jobDetail: (params) => call('jobDetail', params),
    rerunJob: (params) => call('rerunJob', params),
    hostInfo: (params) => call('hostInfo', params),
    listSchedules: (params) => call('listSchedules', params),
    addSchedule: (params) => call('addSchedule', params),
    removeSchedule: (params) => call('removeSchedule', params),
    pauseSchedule: (params) => call('pauseSchedule', params),
    resumeSchedule: (params) => call('resumeSchedule', params),
    runSchedule: (params) => call('runSchedule', params),
    resumeJobs: (params) => call('resumeJobs', params),
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1) {
        if (socket?.readyState === Impl.OPEN) socket.send(JSON.stringify({ type: 'subscribe' } satisfies ClientMessage));
        else connect(); // the open handler subscribes
      }
      return () => {
        if (!listeners.delete(listener) || listeners.size > 0) return;
        if (socket?.readyState === Impl.OPEN) socket.send(JSON.stringify({ type: 'unsubscribe' } satisfies ClientMessage));
      };
    },
    async resync() {
      // Without a connection the reconnect subscribes again, which brings a snapshot anyway.
      if (socket?.readyState === Impl.OPEN) socket.send(JSON.stringify({ type: 'resync' } satisfies ClientMessage));
      else connect();
    },
    close() {
      closedForGood = true;
      if (retryTimer) clearTimeout(retryTimer);
      outbox.length = 0;
      failPending('the API was closed');
      socket?.close();
      socket = null;
    },
  };
}

function isResult(message: unknown): message is { type: 'result'; id: number } {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'result' && typeof (message as { id?: unknown }).id === 'number';
}
