import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { TOKEN_QUERY_PARAM } from '../../contract/api.js';
import type { HostEngine } from '../engine/engine.js';
import { ApiHandlers } from '../hosts/api-handlers.js';
import { EventBatcher } from '../hosts/event-batcher.js';
import type { ThreadlineMetrics } from '../hosts/metrics.js';
import type { Scheduler } from '../schedules/scheduler.js';
import { hostForUrl, tokenOf, tokensMatch, type AccessPolicy } from './access.js';
import { isApiPath, startApiServer, type ApiServer } from './api-server.js';
import { answerMetrics, isMetricsPath } from './metrics-endpoint.js';
import { notBuiltPage } from './not-built-page.js';
import { lookUpStatic } from './static-files.js';

export interface DashboardServerOptions {
  engine: HostEngine;
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

/**
 * The headless dashboard: the built renderer as static files and the API over a WebSocket at
 * `/api`, admitted by the token, from this server's own origin only.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const handlers = new ApiHandlers(options.engine, { defaultBaseDir: options.baseDir, scheduler: options.scheduler });
  const batcher = new EventBatcher(options.engine);

  const reply = (request: IncomingMessage, response: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8') => {
    const body = Buffer.from(text);
    response.writeHead(status, { ...securityHeaders(request), 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  };

  const answer = (request: IncomingMessage, response: ServerResponse, access: AccessPolicy) => {
    const target = request.url ?? '/';
    if (!access.hostAllowed(request)) return reply(request, response, 403, 'refused: unknown Host\n');
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
  };

  let server: ApiServer;
  try {
    server = await startApiServer({ host: options.host, port: options.port, token: options.token, handlers, batcher, answer });
  } catch (error) {
    batcher.close();
    throw error;
  }
  const port = server.port;
  const url = `http://${hostForUrl(options.host)}:${port}/?${TOKEN_QUERY_PARAM}=${options.token}`;

  return {
    url,
    port,
    close() {
      batcher.close();
      return server.close();
    },
  };
}
