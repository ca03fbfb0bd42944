import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { API_WEBSOCKET_PATH, TOKEN_QUERY_PARAM } from '../../contract/api.js';
import type { ApiHandlers } from '../hosts/api-handlers.js';
import type { EventBatcher } from '../hosts/event-batcher.js';
import { AccessPolicy, tokenOf, tokensMatch } from './access.js';
import { serveApiSocket } from './api-socket.js';

/** Connections at once; past it a new one is closed at once. A dashboard needs a handful. */
const MAX_CONNECTIONS = 512;

/** Largest WebSocket message accepted (a job file's text travels in one). */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export interface ApiServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  token: string;
  handlers: ApiHandlers;
  /** Its owner closes it. */
  batcher: EventBatcher;
  /**
   * Plain HTTP requests (not WebSocket upgrades), given the access policy of the bound
   * address. Default: only the API's path is known, and it wants a WebSocket.
   */
  answer?: (request: IncomingMessage, response: ServerResponse, access: AccessPolicy) => void;
}

export interface ApiServer {
  readonly port: number;
  close(): Promise<void>;
}

export function isApiPath(target: string): boolean {
  const path = target.split(/[?#]/, 1)[0]!;
  return path === API_WEBSOCKET_PATH || path.startsWith(`${API_WEBSOCKET_PATH}/`);
}

/**
 * An HTTP server whose WebSocket at `/api` serves the API contract, admitted by the token,
 * from this server's own origin only: `threadline serve`'s dashboard server and the desktop
 * app's loopback API for the CLI are both one.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  let access: AccessPolicy | null = null;
  const answer = options.answer ?? answerApiOnly(options.token);

  // No request is accepted before `listen` has resolved, which is when `access` is set.
  const server = createServer((request, response) => answer(request, response, access!));

  // A client may reset its connection (RST) at any moment: the next write to that socket then
  // fails, and a socket error without a listener ends the process. Node's HTTP server listens
  // only until an upgrade, so every connection gets a listener of its own, for its whole life.
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => socket.destroy());
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, reason: string) => {
      if (!socket.writable) return socket.destroy();
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\n\r\n${reason}\n`);
    };
    const target = request.url ?? '/';
    if (target.split('?', 1)[0] !== API_WEBSOCKET_PATH) return refuse(404, 'Not Found');
    if (!access?.hostAllowed(request)) return refuse(403, 'Forbidden Host');
    if (!access.originAllowed(request)) return refuse(403, 'Forbidden Origin');
    if (!tokensMatch(tokenOf(request), options.token)) return refuse(401, 'Unauthorized');
    sockets.handleUpgrade(request, socket, head, (ws) => serveApiSocket(ws, options.handlers, options.batcher));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Out of descriptors (EMFILE), accepting a connection fails with an 'error' on the server,
  // which without a listener would end the host: the connection is dropped and the server goes
  // on. A cap on connections keeps a client from taking every descriptor in the first place.
  server.on('error', () => {});
  server.maxConnections = MAX_CONNECTIONS;
  const { port } = server.address() as AddressInfo;
  access = new AccessPolicy(options.host, port);

  let closed: Promise<void> | null = null;
  return {
    port,
    close() {
      closed ??= (async () => {
        for (const client of sockets.clients) client.close(1001, 'the server is shutting down');
        // Give clients a moment to answer the close frame, then cut what is left: a client that
        // never answers must not hold the stop up for ws's 30 s closing timeout.
        await new Promise((resolve) => setTimeout(resolve, 100));
        for (const client of sockets.clients) client.terminate();
        await new Promise<void>((resolve) => sockets.close(() => resolve()));
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closed;
    },
  };
}

/** A server with nothing but the API: anything else is not found. */
function answerApiOnly(token: string) {
  return (request: IncomingMessage, response: ServerResponse, access: AccessPolicy) => {
    const reply = (status: number, text: string) => {
      const body = Buffer.from(text);
      response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (!access.hostAllowed(request)) return reply(403, 'refused: unknown Host\n');
    if (!isApiPath(request.url ?? '/')) return reply(404, `not found: only the API is served here, as a WebSocket at ${API_WEBSOCKET_PATH}\n`);
    if (!tokensMatch(tokenOf(request), token)) return reply(401, `refused: the ${TOKEN_QUERY_PARAM} is missing or wrong\n`);
    return reply(426, 'the API is a WebSocket: connect with Upgrade: websocket\n');
  };
}
