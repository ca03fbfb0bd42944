import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project folder: the nearest folder above this module with Threadline's package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'threadline') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

/** Where electron-vite puts the built renderer. */
export function defaultWebRoot(): string | null {
  const root = packageRoot();
  return root ? join(root, 'out', 'renderer') : null;
}

/** The web root if it holds a built dashboard, else null. */
export function builtWebRoot(webRoot: string | null): string | null {
  return webRoot !== null && existsSync(join(webRoot, 'index.html')) ? webRoot : null;
}
