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
  /** Runs before the engine shuts down (stop sending events to the window, ...). */
  beforeShutdown?: () => void;
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
    options.beforeShutdown?.();
    const exit = (code: number) => {
      remove();
      app.exit(code);
    };
    engine.shutdown({ deadlineMs: options.deadlineMs ?? QUIT_DEADLINE_MS }).then(
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
