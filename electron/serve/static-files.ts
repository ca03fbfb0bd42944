import { realpathSync, statSync } from 'node:fs';
import { extname, join, sep } from 'node:path';

export type StaticLookup =
  | { type: 'file'; path: string; size: number; contentType: string }
  | { type: 'refused'; status: 400 | 403 | 404; reason: string };

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Maps a request target to a file inside the web root, or says why not. The path is checked
 * after percent-decoding (so `%2e%2e` and `%2f` are caught), and the file's real path must
 * still lie inside the root (so a symbolic link cannot lead out of it). Hidden files are not served.
 */
export function lookUpStatic(webRoot: string, target: string): StaticLookup {
  const rawPath = target.split(/[?#]/, 1)[0]!;
  if (!rawPath.startsWith('/')) return { type: 'refused', status: 400, reason: 'the path must start with /' };
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { type: 'refused', status: 400, reason: 'the path is not valid percent-encoding' };
  }
  if (path.includes('\0') || path.includes('\\')) return { type: 'refused', status: 400, reason: 'the path holds a forbidden character' };
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '..' || segment === '.')) {
    return { type: 'refused', status: 403, reason: 'the path leaves the web root' };
  }
  if (segments.some((segment) => segment.startsWith('.'))) return { type: 'refused', status: 404, reason: 'not found' };
  if (path.endsWith('/')) segments.push('index.html');

  let root: string;
  let real: string;
  try {
    root = realpathSync(webRoot);
    real = realpathSync(join(root, ...segments));
  } catch {
    return { type: 'refused', status: 404, reason: 'not found' };
  }
  if (!real.startsWith(root + sep)) return { type: 'refused', status: 403, reason: 'the path leaves the web root' };
  const stat = statSync(real, { throwIfNoEntry: false });
  if (!stat?.isFile()) return { type: 'refused', status: 404, reason: 'not found' };
  return { type: 'file', path: real, size: stat.size, contentType: contentTypeOf(real) };
}
