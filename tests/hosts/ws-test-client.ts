import { request } from 'node:http';
import { WebSocket } from 'ws';
import { serverMessageSchema, type ApiEvent, type ClientMessage, type ResultMessage, type ServerMessage } from '../../contract/api.js';

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP request: the path goes on the wire exactly as given (no normalization). */
export function httpRequest(port: number, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with it, or rejects with the HTTP status that refused it. */
export function openSocket(url: string, options: { origin?: string; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { origin: options.origin, headers: options.headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`refused with HTTP ${res.statusCode}`), { status: res.statusCode }));
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

/**
 * A wire-level API client for tests: every server message is checked against the contract's
 * schema and kept in order; calls are matched to results by id.
 */
export class WireClient {
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;
  private readonly waiters = new Set<() => void>();

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = serverMessageSchema.parse(JSON.parse(data.toString())) as ServerMessage;
      this.messages.push(message);
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(message: ClientMessage | Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  async call(method: string, params?: unknown): Promise<ResultMessage> {
    const id = this.nextId++;
    this.send({ type: 'call', id, method, params });
    return this.waitFor((m): m is ResultMessage => m.type === 'result' && m.id === id);
  }

  events(): ApiEvent[] {
    return this.messages.filter((m): m is ApiEvent => m.type !== 'result');
  }

  /** Resolves with the first message (already received or coming) that passes `match`. */
  waitFor<T extends ServerMessage>(match: (m: ServerMessage) => m is T, timeoutMs?: number): Promise<T>;
  waitFor(match: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
  waitFor(match: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < this.messages.length; seen++) {
          const message = this.messages[seen]!;
          if (match(message)) {
            this.waiters.delete(check);
            clearTimeout(timer);
            resolve(message);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error('timed out waiting for a server message'));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): Promise<unknown> {
    if (this.socket.readyState !== this.socket.CLOSED) this.socket.close();
    return this.closed;
  }
}
