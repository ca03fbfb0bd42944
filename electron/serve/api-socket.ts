import type { RawData, WebSocket } from 'ws';
import { clientMessageSchema, type ServerMessage } from '../../contract/api.js';
import { describeIssue, formatPath } from '../../contract/job-spec.js';
import type { ApiHandlers } from '../hosts/api-handlers.js';
import type { EventBatcher, Subscription } from '../hosts/event-batcher.js';

/** Above this much unsent data the socket counts as congested and deltas wait (they coalesce meanwhile). */
const CONGESTED_BYTES = 8 * 1024 * 1024;

/** WebSocket close codes (RFC 6455). */
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_POLICY_VIOLATION = 1008;

/**
 * One WebSocket client of the API: calls are answered by `result` messages with their id; a
 * subscription streams a snapshot and then the batcher's deltas. Every message is validated here.
 */
export function serveApiSocket(socket: WebSocket, handlers: ApiHandlers, batcher: EventBatcher): void {
  let subscription: Subscription | null = null;
  const send = (message: ServerMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const subscribe = () => {
    subscription ??= batcher.subscribe({ send, ready: () => socket.bufferedAmount < CONGESTED_BYTES });
  };

  socket.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      socket.close(CLOSE_UNSUPPORTED_DATA, 'expected JSON text messages');
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      socket.close(CLOSE_POLICY_VIOLATION, 'a message was not valid JSON');
      return;
    }
    const parsed = clientMessageSchema.safeParse(json, { reportInput: true });
    if (!parsed.success) {
      const id = (json as { id?: unknown } | null)?.id;
      const first = parsed.error.issues[0];
      const message = `not a client message: ${first ? `${first.path.length ? `${formatPath(first.path)}: ` : ''}${describeIssue(first)}` : 'invalid'}`;
      if (typeof id === 'number' && Number.isInteger(id)) send({ type: 'result', id, ok: false, error: { code: 'BAD_REQUEST', message } });
      else socket.close(CLOSE_POLICY_VIOLATION, closeReason(message));
      return;
    }
    const request = parsed.data;
    switch (request.type) {
      case 'call':
        void handlers.call(request.method, request.params).then((outcome) => send({ type: 'result', id: request.id, ...outcome }));
        break;
      case 'subscribe':
        subscribe();
        break;
      case 'unsubscribe':
        subscription?.close();
        subscription = null;
        break;
      case 'resync':
        if (subscription) subscription.resync();
        else subscribe();
        break;
    }
  });
  socket.on('close', () => subscription?.close());
  socket.on('error', () => subscription?.close());
}

/** A close frame's reason holds at most 123 bytes of UTF-8: cut on a character boundary. */
export function closeReason(text: string): string {
  const MAX_BYTES = 123;
  if (Buffer.byteLength(text) <= MAX_BYTES) return text;
  let cut = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > MAX_BYTES - 3) break;
    cut += char;
    bytes += size;
  }
  return `${cut}...`;
}
