import { apiEventSchema, type ApiEvent } from '../../../contract/api';

/** Records checked per slice; a snapshot of 100,000 tasks is checked in slices between frames. */
const SLICE = 2000;
/** Main-thread time a check may take before it lets the page paint. */
const BUDGET_MS = 8;

export type EventCheck = { ok: true; event: ApiEvent } | { ok: false; problem: string };

/**
 * Checks a host message against the contract's event schema. A large snapshot or delta is
 * checked a slice of tasks and attempts at a time, each slice wrapped as a delta so the
 * contract's own schema judges it, yielding between slices so the page keeps painting.
 */
export async function checkEvent(message: unknown, yieldToPage: () => Promise<void> = nextTask): Promise<EventCheck> {
  if (!isLarge(message)) {
    const parsed = apiEventSchema.safeParse(message);
    return parsed.success ? { ok: true, event: message as ApiEvent } : { ok: false, problem: describe(parsed.error.issues[0], 0, '') };
  }
  const { tasks, attempts, counts } = message;
  const envelope = apiEventSchema.safeParse({ ...message, tasks: [], attempts: {} });
  if (!envelope.success) return { ok: false, problem: describe(envelope.error.issues[0], 0, '') };

  let sliceStart = performance.now();
  const pause = async (): Promise<void> => {
    if (performance.now() - sliceStart < BUDGET_MS) return;
    await yieldToPage();
    sliceStart = performance.now();
  };
  const asDelta = (part: { tasks?: unknown[]; attempts?: Record<string, unknown> }) => ({
    type: 'delta',
    seq: 0,
    at: 0,
    tasks: part.tasks ?? [],
    jobs: [],
    attempts: part.attempts ?? {},
    logs: [],
    telemetry: [],
    counts,
  });
  for (let from = 0; from < tasks.length; from += SLICE) {
    const slice = apiEventSchema.safeParse(asDelta({ tasks: tasks.slice(from, from + SLICE) }));
    if (!slice.success) return { ok: false, problem: describe(slice.error.issues[0], from, 'tasks') };
    await pause();
  }
  const entries = Object.entries(attempts);
  for (let from = 0; from < entries.length; from += SLICE) {
    const slice = apiEventSchema.safeParse(asDelta({ attempts: Object.fromEntries(entries.slice(from, from + SLICE)) }));
    if (!slice.success) return { ok: false, problem: describe(slice.error.issues[0], 0, '') };
    await pause();
  }
  // The schemas only check (no defaults, no transforms): the message itself is the event.
  return { ok: true, event: message as unknown as ApiEvent };
}

interface LargeEvent {
  tasks: unknown[];
  attempts: Record<string, unknown>;
  counts: unknown;
}

function isLarge(message: unknown): message is LargeEvent {
  if (typeof message !== 'object' || message === null) return false;
  const { tasks, attempts } = message as Partial<LargeEvent>;
  if (!Array.isArray(tasks) || typeof attempts !== 'object' || attempts === null || Array.isArray(attempts)) return false;
  return tasks.length > SLICE || Object.keys(attempts).length > SLICE;
}

function describe(issue: { path: PropertyKey[]; message: string } | undefined, offset: number, list: string): string {
  if (!issue) return 'an event the contract does not allow';
  const path = [...issue.path];
  // A slice's task index is its index within the slice.
  if (list && path[0] === list && typeof path[1] === 'number') path[1] += offset;
  return `an event the contract does not allow (${path.map(String).join('.')}: ${issue.message})`;
}

/** Resolves in a new task of the page's event loop (after a paint, when one is due). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof MessageChannel === 'undefined') {
      setTimeout(resolve, 0);
      return;
    }
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
