import { WebSocket } from 'ws';
import {
  API_METHODS,
  API_WEBSOCKET_PATH,
  ApiCallError,
  serverMessageSchema,
  TOKEN_QUERY_PARAM,
  type ApiEvent,
  type ApiEventListener,
  type ApiMethod,
  type ClientMessage,
  type ThreadlineApi,
} from '../../contract/api.js';
import { hostForUrl } from './access.js';

export interface NodeApiClient {
  api: ThreadlineApi;
  close(): Promise<void>;
  /** Called once if the connection closes other than by `close()` (the server stopped, say). */
  onLost(listener: (why: string) => void): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  token: string;
  /** Sent as the Origin header (a browser always sends one; Node clients need not). */
  origin?: string;
  /** How long the server may take to accept the connection (default `HANDSHAKE_TIMEOUT_MS`). */
  handshakeTimeoutMs?: number;
}

/**
 * A host whose process is stopped (Ctrl-Z, SIGSTOP) or hung still has its port accepting
 * connections in the kernel, but never answers the upgrade: without a limit, `cancel` and `run`
 * would wait for it for ever. A live host answers in milliseconds, even while admitting a job.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The API over `threadline serve`'s WebSocket, from Node: what the CLI's `cancel` and
 * `export-trace` use to reach a running server. Messages from the server are validated.
 */
export async function connectApi(options: ConnectOptions): Promise<NodeApiClient> {
  const url = `ws://${hostForUrl(options.host)}:${options.port}${API_WEBSOCKET_PATH}?${TOKEN_QUERY_PARAM}=${encodeURIComponent(options.token)}`;
  const socket = new WebSocket(url, { handshakeTimeout: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS, ...(options.origin ? { origin: options.origin } : {}) });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('unexpected-response', (_request, response) => {
      reject(new Error(`the server refused the API connection: HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trim()));
    });
    socket.once('error', reject);
  });

  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const listeners = new Set<ApiEventListener>();
  const lostListeners = new Set<(why: string) => void>();
  let closing = false;
  const send = (message: ClientMessage) => socket.send(JSON.stringify(message));

  socket.on('message', (data) => {
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      json = undefined;
    }
    const parsed = serverMessageSchema.safeParse(json);
    if (!parsed.success) {
      socket.close(1008, 'the server sent a message outside the contract');
      return;
    }
    const message = parsed.data;
    if (message.type === 'result') {
      const call = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) call?.resolve(message.value);
      else call?.reject(new ApiCallError(message.error));
      return;
    }
    for (const listener of listeners) listener(message as ApiEvent);
  });
  socket.on('close', (code, reason) => {
    const error = new Error(`the API connection closed (${code}${reason.length > 0 ? `: ${reason.toString()}` : ''})`);
    for (const call of pending.values()) call.reject(error);
    pending.clear();
    if (!closing) for (const listener of lostListeners) listener(error.message);
  });

  const call = (method: ApiMethod, params: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      if (socket.readyState !== socket.OPEN) return reject(new Error('the API connection is closed'));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      send({ type: 'call', id, method, params });
    });
  const methods = Object.fromEntries(API_METHODS.map((method) => [method, (params?: unknown) => call(method, params ?? {})]));
  const api = {
    ...methods,
    subscribe(listener: ApiEventListener) {
      if (listeners.size === 0) send({ type: 'subscribe' });
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && socket.readyState === socket.OPEN) send({ type: 'unsubscribe' });
      };
    },
    async resync() {
      send({ type: 'resync' });
    },
  } as ThreadlineApi;

  return {
    api,
    onLost: (listener) => lostListeners.add(listener),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (socket.readyState === socket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close(1000);
      }),
  };
}
