/**
 * SIGINT and SIGTERM ask for a graceful stop; a second SIGINT stops at once.
 * Returns a function that removes the handlers.
 */
export function onShutdownSignals(stop: (signal: NodeJS.Signals) => void, log: (line: string) => void): () => void {
  let asked = false;
  const handler = (signal: NodeJS.Signals) => {
    if (asked) {
      if (signal === 'SIGINT') {
        log('stopping at once');
        process.exit(130);
      }
      return;
    }
    asked = true;
    log(`${signal}: stopping; running tasks are asked to stop${signal === 'SIGINT' ? ' (press Ctrl-C again to stop at once)' : ''}`);
    stop(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
