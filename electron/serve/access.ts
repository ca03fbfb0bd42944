import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_QUERY_PARAM } from '../../contract/api.js';

/** A fresh random token for one `serve` run: 32 bytes, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares in constant time (hashing first, so that neither length nor prefix leaks). */
export function tokensMatch(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function tokenOf(request: IncomingMessage): string | null {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  if (query < 0) return null;
  return new URLSearchParams(url.slice(query + 1)).get(TOKEN_QUERY_PARAM);
}

/**
 * Who may talk to the server: a request must name this server in `Host` (so that a page of
 * another site cannot reach it through DNS rebinding), and a browser's `Origin`, when sent,
 * must be the very origin it addressed. Bound to a wildcard address, any `Host` is accepted.
 */
export class AccessPolicy {
  private readonly hosts: Set<string> | null;

  constructor(boundHost: string, port: number) {
    if (WILDCARD_HOSTS.has(boundHost)) this.hosts = null;
    else this.hosts = new Set(['127.0.0.1', 'localhost', '[::1]', hostForUrl(boundHost)].map((name) => `${name}:${port}`));
  }

  hostAllowed(request: IncomingMessage): boolean {
    const host = request.headers.host?.toLowerCase();
    return typeof host === 'string' && (this.hosts === null || this.hosts.has(host));
  }

  /** Non-browser clients send no Origin; the token is what admits them. */
  originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    return this.hostAllowed(request) && origin.toLowerCase() === `http://${request.headers.host!.toLowerCase()}`;
  }
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]']);

/** An IPv6 literal goes in brackets in a URL or a Host header. */
export function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host.toLowerCase();
}
