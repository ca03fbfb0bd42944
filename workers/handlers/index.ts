import type { KindInput, KindNameOn } from '../../contract/kinds/index.js';
import type { TaskHandler } from './handler.js';

// A kind's module (SQLite, CSV, compression, globbing, ...) loads on the first task of that kind
// in a thread, not when the thread starts: a fresh thread (after a hard cancel, or the one task
// of a CLI run) is ready for its first task after loading only what that task needs.

/** How to load the handler of every pool kind, by the name job files use: a pool kind without one is a type error. */
const LOADERS: { readonly [Name in KindNameOn<'pool'>]: () => Promise<TaskHandler<KindInput<Name>>> } = {
  'sql.query': async () => (await import('./sql-query.js')).sqlQuery,
  'sql.exec': async () => (await import('./sql-exec.js')).sqlExec,
  'csv.import': async () => (await import('./csv-import.js')).csvImport,
  'file.hash': async () => (await import('./file-hash.js')).fileHash,
  'file.compress': async () => (await import('./file-compress.js')).fileCompress,
  'file.decompress': async () => (await import('./file-compress.js')).fileDecompress,
  'file.grep': async () => (await import('./file-grep.js')).fileGrep,
  'file.stats': async () => (await import('./file-stats.js')).fileStats,
  script: async () => (await import('./script.js')).script,
  'demo.echo': async () => (await import('./demo.js')).echo,
  'demo.cpu': async () => (await import('./demo.js')).cpu,
  'demo.block': async () => (await import('./demo.js')).block,
  'demo.alloc': async () => (await import('./demo.js')).alloc,
  'demo.fail': async () => (await import('./demo.js')).fail,
};

const loaded = new Map<string, TaskHandler<unknown>>();
const loading = new Map<string, Promise<TaskHandler<unknown>>>();

/**
 * The handler of a pool kind: the function itself once this thread has loaded it, a promise of
 * it on the kind's first task, undefined for a kind this worker does not run. Its input was
 * validated against the kind's schema when the engine admitted the task, which is what lets it
 * be called with any kind's input here.
 */
export function poolHandler(kind: string): TaskHandler<unknown> | Promise<TaskHandler<unknown>> | undefined {
  const handler = loaded.get(kind);
  if (handler) return handler;
  if (!Object.hasOwn(LOADERS, kind)) return undefined;
  let pending = loading.get(kind);
  if (!pending) {
    const load = LOADERS[kind as KindNameOn<'pool'>] as () => Promise<TaskHandler<unknown>>;
    pending = load().then((loadedHandler) => {
      loaded.set(kind, loadedHandler);
      return loadedHandler;
    });
    // A module that fails to load fails this task; the next task of the kind tries again.
    pending.catch(() => loading.delete(kind));
    loading.set(kind, pending);
  }
  return pending;
}
