/**
 * One name per executor for lanes and labels. Attempts name a pool thread `w<threadId>` (or by
 * its bare id) while telemetry lists thread ids as numbers; both become the bare id here.
 */
export function workerId(worker: string | number | null): string | null {
  if (worker === null) return null;
  const name = String(worker);
  const thread = /^w(\d+)$/.exec(name);
  return thread ? thread[1]! : name;
}

/** How a worker is named on screen: `loop`, `thread 7`, or what the engine said. */
export function workerLabel(worker: string | number | null): string {
  const id = workerId(worker);
  if (id === null) return '–';
  if (id === 'loop') return 'event loop';
  return /^\d+$/.test(id) ? `thread ${id}` : id;
}
