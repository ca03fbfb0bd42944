import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { ApiCallError, type ApiEvent, type ClientMessage } from '../../contract/api';
import { apiSocketUrl, createWebSocketApi, type WebSocketApi } from '../../renderer/src/transport/websocket-api';
import { delta, snapshot, task } from './records';

/** A stand-in host: a real WebSocket server that answers the way the contract says. */
class FakeHost {
  readonly server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  readonly received: ClientMessage[] = [];
  readonly sockets: WebSocket[] = [];
  answer: (message: Extract<ClientMessage, { type: 'call' }>) => unknown = (m) => ({ type: 'result', id: m.id, ok: true, value: { echoed: m.method } });
  onSubscribe: (socket: WebSocket) => void = (socket) => socket.send(JSON.stringify(snapshot(0, { tasks: [task('a')] })));

  constructor() {
    this.server.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as ClientMessage;
        this.received.push(message);
        if (message.type === 'subscribe' || message.type === 'resync') this.onSubscribe(socket);
        if (message.type === 'call') {
          const reply = this.answer(message);
          if (reply !== undefined) socket.send(JSON.stringify(reply));
        }
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/api?token=t`;
  }

  count(type: ClientMessage['type']): number {
    return this.received.filter((m) => m.type === type).length;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { onBadMessage?: (problem: string) => void } = {}): Promise<{ host: FakeHost; api: WebSocketApi }> {
  const host = new FakeHost();
  await once(host.server, 'listening');
  const api = createWebSocketApi({
    url: host.url,
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    maxRetryMs: 50,
    onBadMessage: options.onBadMessage,
  });
  cleanups.push(() => host.close(), () => api.close());
  return { host, api };
}

function nextEvents(api: WebSocketApi, n: number): { events: ApiEvent[]; done: Promise<void>; stop: () => void } {
  const events: ApiEvent[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const stop = api.subscribe((event) => {
    events.push(event);
    if (events.length === n) resolve();
  });
  return { events, done, stop };
}

describe('createWebSocketApi', () => {
  it('builds the socket URL of the page, with its token; none without one', () => {
    expect(apiSocketUrl({ protocol: 'http:', host: '127.0.0.1:4000', search: '?token=a%2Bb' })).toBe('ws://127.0.0.1:4000/api?token=a%2Bb');
    expect(apiSocketUrl({ protocol: 'https:', host: 'x', search: '?token=z' })).toBe('wss://x/api?token=z');
    expect(apiSocketUrl({ protocol: 'http:', host: 'x', search: '' })).toBeNull();
  });

  it('subscribes on connect and delivers the snapshot and deltas the contract allows', async () => {
    const { host, api } = await setup();
    host.onSubscribe = (socket) => {
      socket.send(JSON.stringify(snapshot(3, { tasks: [task('a')] })));
      socket.send(JSON.stringify(delta(4, { tasks: [task('a', { state: 'running' })] })));
    };
    const { events, done, stop } = nextEvents(api, 2);
    await done;
    expect(events.map((e) => [e.type, e.seq])).toEqual([
      ['snapshot', 3],
      ['delta', 4],
    ]);
    stop();
    await vi.waitFor(() => expect(host.count('unsubscribe')).toBe(1), { timeout: 10_000 });
  });

  it('matches results to calls by id, and turns error results into ApiCallError with issues', async () => {
    const { host, api } = await setup();
    host.answer = (m) =>
      m.method === 'submitJob'
        ? { type: 'result', id: m.id, ok: false, error: { code: 'BAD_REQUEST', message: 'submitJob: text: expected string', issues: [{ path: 'text', message: 'expected string' }] } }
        : { type: 'result', id: m.id, ok: true, value: { cancelled: m.method === 'cancelTask' } };
    const [cancelled, retried] = await Promise.all([api.cancelTask({ key: 'j:a' }), api.retryTask({ key: 'j:a' })]);
    expect(cancelled).toEqual({ cancelled: true });
    expect(retried).toEqual({ cancelled: false });
    const failure = await api.submitJob({ text: 'x', fileName: 'a.json' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiCallError);
    expect(failure).toMatchObject({ code: 'BAD_REQUEST', issues: [{ path: 'text', message: 'expected string' }] });
    const calls = host.received.filter((m) => m.type === 'call');
    expect(calls.map((m) => m.type === 'call' && [m.method, m.params])).toEqual([
      ['cancelTask', { key: 'j:a' }],
      ['retryTask', { key: 'j:a' }],
      ['submitJob', { text: 'x', fileName: 'a.json' }],
    ]);
  });

  it('drops events that break the contract and says so, without passing them on', async () => {
    const problems: string[] = [];
    const { host, api } = await setup({ onBadMessage: (p) => problems.push(p) });
    host.onSubscribe = (socket) => {
      socket.send('not json');
      socket.send(JSON.stringify({ ...delta(1), tasks: [{ key: 'j:a', state: 'exploded' }] }));
      socket.send(JSON.stringify(snapshot(9)));
    };
    const { events, done } = nextEvents(api, 1);
    await done;
    expect(events.map((e) => e.seq)).toEqual([9]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/not JSON/);
    expect(problems[1]).toMatch(/does not allow \(tasks\.0\.\w+/);
  });

  it('keeps delivering after a listener failed on one event', async () => {
    const problems: string[] = [];
    const { host, api } = await setup({ onBadMessage: (p) => problems.push(p) });
    host.onSubscribe = (socket) => {
      socket.send(JSON.stringify(snapshot(1)));
      socket.send(JSON.stringify(delta(2)));
    };
    const seen: number[] = [];
    api.subscribe((event) => {
      seen.push(event.seq);
      if (event.seq === 1) throw new Error('a renderer bug');
    });
    await vi.waitFor(() => expect(seen).toEqual([1, 2]), { timeout: 10_000 });
    expect(problems).toEqual(['an event that could not be handled: a renderer bug']);
  });

  it('fails the calls in flight when the connection drops, then reconnects and subscribes again', async () => {
    const { host, api } = await setup();
    host.answer = () => undefined; // never answers
    const { events, done } = nextEvents(api, 2);
    await vi.waitFor(() => expect(events).toHaveLength(1), { timeout: 10_000 });
    const pending = api.cancelAll();
    await vi.waitFor(() => expect(host.count('call')).toBe(1), { timeout: 10_000 });
    host.sockets[0]!.terminate();
    await expect(pending).rejects.toThrow(/cancelAll: the connection to the Threadline host closed/);
    await done; // a second snapshot, from the second connection
    expect(host.count('subscribe')).toBe(2);
    expect(host.count('call')).toBe(1);
  });

  it('asks for a fresh snapshot on resync', async () => {
    const { host, api } = await setup();
    const { done } = nextEvents(api, 2);
    await vi.waitFor(() => expect(host.count('subscribe')).toBe(1), { timeout: 10_000 });
    await api.resync();
    await done;
    expect(host.count('resync')).toBe(1);
  });

  it('refuses calls once closed, and does not reconnect', async () => {
    const { host, api } = await setup();
    await api.listJobs({ history: false });
    const connections = host.sockets.length;
    api.close();
    await expect(api.cancelAll()).rejects.toThrow(/the API is closed/);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(host.sockets.length).toBe(connections);
    await vi.waitFor(() => expect(host.sockets[0]!.readyState).toBe(WebSocket.CLOSED), { timeout: 10_000 });
  });
});
