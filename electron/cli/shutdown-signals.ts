/** Exit status after a stop by a signal, by shell convention 128 + its number: 130 for Ctrl-C. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/**
 * SIGINT and SIGTERM ask for a graceful stop; a second SIGINT stops at once (exit 130), after
 * `beforeHardStop` (a live display clears itself). Returns a function that removes the handlers.
 */
export function onShutdownSignals(
  stop: (signal: NodeJS.Signals) => void,
  log: (line: string) => void,
  options: { what?: string; beforeHardStop?: () => void } = {},
): () => void {
  let asked = false;
  const handler = (signal: NodeJS.Signals) => {
    if (asked) {
      if (signal === 'SIGINT') {
        log('stopping at once');
        options.beforeHardStop?.();
        process.exit(130);
      }
      return;
    }
    asked = true;
    const what = options.what ?? 'stopping; running tasks are asked to stop';
    log(`${signal}: ${what}${signal === 'SIGINT' ? ' (press Ctrl-C again to stop at once)' : ''}`);
    stop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
