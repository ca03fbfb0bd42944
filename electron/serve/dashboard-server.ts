import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { API_WEBSOCKET_PATH, TOKEN_QUERY_PARAM } from '../../contract/api.js';
import type { Engine } from '../engine/engine.js';
import { ApiHandlers } from '../hosts/api-handlers.js';
import { EventBatcher } from '../hosts/event-batcher.js';
import type { ThreadlineMetrics } from '../hosts/metrics.js';
import type { Scheduler } from '../schedules/scheduler.js';
import { AccessPolicy, hostForUrl, tokenOf, tokensMatch } from './access.js';
import { serveApiSocket } from './api-socket.js';
import { answerMetrics, isMetricsPath } from './metrics-endpoint.js';
import { notBuiltPage } from './not-built-page.js';
import { lookUpStatic } from './static-files.js';

/** Connections at once; past it a new one is closed at once. A dashboard needs a handful. */
const MAX_CONNECTIONS = 512;

export interface DashboardServerOptions {
  engine: Engine;
  host: string;
  /** 0 picks a free port. */
  port: number;
  token: string;
  /** A folder holding the built renderer, or null to serve the "not built" page. */
  webRoot: string | null;
  /** Where the missing dashboard was looked for, for the "not built" page. */
  expectedWebRoot?: string | null;
  /** The folder relative paths of submitted job files resolve against. */
  baseDir: string;
  /** The schedules the API's schedule methods work on. */
  scheduler?: Scheduler;
  /** What `GET /metrics` answers (404 without). */
  metrics?: ThreadlineMetrics;
}

export interface DashboardServer {
  /** The URL to open, with the token. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Largest WebSocket message accepted (a job file's text travels in one). */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

function securityHeaders(request: IncomingMessage): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "font-src 'self' data:",
      `connect-src 'self' ws://${request.headers.host ?? 'localhost'}`,
      "worker-src 'self' blob:",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      "form-action 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    // The page's URL carries the token: never hand it to another site.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

function isApiPath(target: string): boolean {
  const path = target.split(/[?#]/, 1)[0]!;
  return path === API_WEBSOCKET_PATH || path.startsWith(`${API_WEBSOCKET_PATH}/`);
}

/**
 * The headless dashboard: the built renderer as static files and the API over a WebSocket at
 * `/api`, admitted by the token, from this server's own origin only.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const handlers = new ApiHandlers(options.engine, { defaultBaseDir: options.baseDir, scheduler: options.scheduler });
  const batcher = new EventBatcher(options.engine);
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  let access: AccessPolicy | null = null;

  const reply = (request: IncomingMessage, response: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8') => {
    const body = Buffer.from(text);
    response.writeHead(status, { ...securityHeaders(request), 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  };

  const server = createServer((request, response) => {
    const target = request.url ?? '/';
    if (!access?.hostAllowed(request)) return reply(request, response, 403, 'refused: unknown Host\n');
    if (options.metrics && isMetricsPath(target)) return void answerMetrics(request, response, options.metrics, options.token);
    if (isApiPath(target)) {
      if (!tokensMatch(tokenOf(request), options.token)) return reply(request, response, 401, `refused: the ${TOKEN_QUERY_PARAM} is missing or wrong\n`);
      return reply(request, response, 426, 'the API is a WebSocket: connect with Upgrade: websocket\n');
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return reply(request, response, 405, 'only GET and HEAD\n');
    }
    if (options.webRoot === null) {
      const path = target.split(/[?#]/, 1)[0];
      if (path === '/' || path === '/index.html') return reply(request, response, 200, notBuiltPage(options.expectedWebRoot ?? null), 'text/html; charset=utf-8');
      return reply(request, response, 404, 'not found (the dashboard is not built)\n');
    }
    const found = lookUpStatic(options.webRoot, target);
    // Browsers ask for an icon by themselves; a 404 there would be a console error on every load.
    if (found.type === 'refused' && found.status === 404 && target.split('?', 1)[0] === '/favicon.ico') {
      response.writeHead(204, securityHeaders(request));
      return response.end();
    }
    if (found.type === 'refused') return reply(request, response, found.status, `${found.reason}\n`);
    response.writeHead(200, {
      ...securityHeaders(request),
      'Content-Type': found.contentType,
      'Content-Length': found.size,
      'Cache-Control': found.contentType.startsWith('text/html') ? 'no-store' : 'no-cache',
    });
    if (request.method === 'HEAD') return response.end();
    // pipeline, not pipe: a client gone mid-file must close the file too, not leave it open.
    pipeline(createReadStream(found.path), response, () => {});
  });

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
    sockets.handleUpgrade(request, socket, head, (ws) => serveApiSocket(ws, handlers, batcher));
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
  const url = `http://${hostForUrl(options.host)}:${port}/?${TOKEN_QUERY_PARAM}=${options.token}`;

  let closed: Promise<void> | null = null;
  return {
    url,
    port,
    close() {
      closed ??= (async () => {
        batcher.close();
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
