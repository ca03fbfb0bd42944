/**
 * The app's own URL scheme for the built renderer (`threadline://app/...`). Unlike file://, it
 * gives the pages one origin of their own, which the CSP and the IPC sender check rely on,
 * and it serves nothing outside the renderer folder.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Protocol } from 'electron';
import { contentSecurityPolicy } from './security.js';
import { contentTypeOf } from '../serve/static-files.js';

export const APP_SCHEME = 'threadline';
export const APP_HOST = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_START_URL = `${APP_ORIGIN}/index.html`;


/** Must run before the app is ready: a standard, secure scheme gets an origin, fetch and storage. */
export function registerAppScheme(protocol: Protocol): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

export function serveRenderer(protocol: Protocol, rendererDir: string): void {
  protocol.handle(APP_SCHEME, (request) => rendererResponse(request.url, rendererDir));
}

/** Answers a request for `url` from the files in `rendererDir`, refusing anything outside it. */
export async function rendererResponse(url: string, rendererDir: string): Promise<Response> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return plain(400, 'bad URL');
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) return plain(404, 'not found');
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return plain(400, 'bad URL encoding');
  }
  if (path.includes('\0')) return plain(400, 'bad path');
  if (path === '/' || path === '') path = '/index.html';

  const root = await realpath(rendererDir).catch(() => null);
  if (!root) return plain(404, 'the renderer has not been built');
  const file = await realpath(resolve(root, `.${path}`)).catch(() => null);
  if (!file || !isInside(root, file)) return plain(404, 'not found');
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return plain(404, 'not found');

  const type = contentTypeOf(file);
  const headers: Record<string, string> = { 'Content-Type': type, 'X-Content-Type-Options': 'nosniff' };
  if (type.startsWith('text/html')) headers['Content-Security-Policy'] = contentSecurityPolicy('production');
  // The file may vanish or fail to read after the checks: that is an answer too, never a
  // rejection (Electron would log its stack and fail the request with no reason).
  const body = await readFile(file).catch((error: NodeJS.ErrnoException) => error);
  if (body instanceof Error) {
    if (body.code === 'ENOENT' || body.code === 'ENOTDIR') return plain(404, 'not found');
    return plain(500, `could not read ${relative(root, file)} (${body.code ?? body.name})`);
  }
  return new Response(body, { status: 200, headers });
}

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}
