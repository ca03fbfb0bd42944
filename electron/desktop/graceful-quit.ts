/**
 * Quitting waits for the engine: running tasks are asked to stop, given `deadlineMs`, ended,
 * and the store is flushed and released before the process exits.
 */
import type { App } from 'electron';
import { onShutdownSignals } from '../cli/shutdown-signals.js';
import type { Engine } from '../engine/engine.js';

export const QUIT_DEADLINE_MS = 5000;

export interface GracefulQuitOptions {
  deadlineMs?: number;
  /**
   * Runs before the engine shuts down (stop sending events to the window, close listeners, ...).
   * The process exits only once what it returns has settled too (within the deadline), so a
   * listener it closes is closed when the quit is done.
   */
  beforeShutdown?: () => void | Promise<unknown>;
  log?: (line: string) => void;
}

/** Returns a function that removes the handlers (they also go once the quit is done). */
export function shutDownEngineOnQuit(app: App, engine: Engine, options: GracefulQuitOptions = {}): () => void {
  const log = options.log ?? ((line: string) => console.error(line));
  let stopping = false;
  const onBeforeQuit = (event: Electron.Event) => {
    event.preventDefault();
    if (stopping) return;
    stopping = true;
    const deadlineMs = options.deadlineMs ?? QUIT_DEADLINE_MS;
    const closed = settledWithin(options.beforeShutdown?.(), deadlineMs, log);
    const exit = (code: number) => {
      remove();
      app.exit(code);
    };
    Promise.all([engine.shutdown({ deadlineMs }), closed]).then(
      () => exit(0),
      (error: unknown) => {
        log(`Threadline could not shut the engine down cleanly: ${error instanceof Error ? error.message : String(error)}`);
        exit(1);
      },
    );
  };
  // app.exit() ends the process without another before-quit, so this runs once per quit.
  app.on('before-quit', onBeforeQuit);
  // A terminal's Ctrl-C or a service manager's SIGTERM takes the same path as the Quit menu.
  const removeSignalHandlers = onShutdownSignals(() => app.quit(), log);
  const remove = () => {
    app.off('before-quit', onBeforeQuit);
    removeSignalHandlers();
  };
  return remove;
}

/** Waits for `work` (if any) to settle, at most `deadlineMs`; its failure is logged, not thrown. */
function settledWithin(work: void | Promise<unknown>, deadlineMs: number, log: (line: string) => void): Promise<void> {
  if (!work) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMs);
    timer.unref();
  });
  const settled = work.then(
    () => undefined,
    (error: unknown) => log(`Threadline could not close everything at quit: ${error instanceof Error ? error.message : String(error)}`),
  );
  return Promise.race([settled, deadline]).finally(() => clearTimeout(timer));
}
