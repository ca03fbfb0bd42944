import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The per-user folder the desktop app calls `userData` (Electron's own rule), so that the CLI,
 * `threadline serve` and the desktop app share one job history by default.
 */
export function defaultUserDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Threadline');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Threadline');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'Threadline');
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.THREADLINE_DATA_DIR || join(defaultUserDataDir(env), 'data');
}

/** The compiled pool worker entry (see `compiledFile`). */
export function defaultWorkerFile(): string {
  return compiledFile('workers/entry.cjs', 'pool-worker.cjs');
}

/** The compiled job reader thread entry (see `compiledFile`). */
export function defaultJobReaderFile(): string {
  return compiledFile('electron/engine/job-reader-thread.js', 'job-reader.js');
}

/** The compiled store checkpoint thread entry (see `compiledFile`). */
export function defaultCheckpointFile(): string {
  return compiledFile('electron/engine/store-checkpoint-thread.js', 'store-checkpoint.js');
}

/**
 * A file a thread loads, which must be JavaScript: next to the compiled engine in `dist/`; in a
 * bundle (the CLI's in `dist/cli/`), the bundled entry beside it; when the engine runs from
 * source (tests), the one `npm run build:node` put in `dist/`. The compiled engine is looked at
 * first: beside it, a bundle's name can be a module of its own (`job-reader.js`).
 */
function compiledFile(fromRoot: string, bundledName: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = resolve(here, '../..');
  const besideEngine = resolve(root, fromRoot);
  if (existsSync(besideEngine)) return besideEngine;
  const bundled = join(here, bundledName);
  if (existsSync(bundled)) return bundled;
  return resolve(root, 'dist', fromRoot);
}

/**
 * A thread entry that every build puts beside the pool's own (`dist/workers/`, the CLI's bundle
 * in `dist/cli/`, the desktop app's `out/main/`); null if this build has none.
 */
export function threadEntryBeside(workerFile: string, name: string): string | null {
  const file = join(dirname(workerFile), name);
  return existsSync(file) ? file : null;
}
