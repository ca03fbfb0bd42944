/**
 * `GET /metrics`: the Prometheus exposition, behind the same token as the rest of the server,
 * given as `?token=` or as `Authorization: Bearer <token>` (what a scrape config's
 * `authorization` section sends). Shared by `threadline serve` and the desktop app's loopback
 * endpoint.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ThreadlineMetrics } from '../hosts/metrics.js';
import { tokenOf, tokensMatch } from './access.js';

export const METRICS_PATH = '/metrics';

export function isMetricsPath(target: string): boolean {
  return target.split(/[?#]/, 1)[0] === METRICS_PATH;
}

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerTokenOf(request: IncomingMessage): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match ? match[1]! : null;
}

export async function answerMetrics(request: IncomingMessage, response: ServerResponse, metrics: ThreadlineMetrics, token: string): Promise<void> {
  const send = (status: number, body: string, headers: Record<string, string> = {}) => {
    const bytes = Buffer.from(body);
    response.writeHead(status, {
      'Content-Type': status === 200 ? metrics.contentType : 'text/plain; charset=utf-8',
      'Content-Length': bytes.length,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...headers,
    });
    response.end(request.method === 'HEAD' ? undefined : bytes);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
  if (!tokensMatch(bearerTokenOf(request) ?? tokenOf(request), token)) {
    return send(401, 'refused: the token is missing or wrong; pass it as ?token= or as Authorization: Bearer <token>\n', {
      'WWW-Authenticate': 'Bearer realm="threadline"',
    });
  }
  let body: string;
  try {
    body = await metrics.render();
  } catch (error) {
    return send(500, `the metrics could not be collected: ${(error as Error).message.split('\n')[0]}\n`);
  }
  send(200, body);
}
