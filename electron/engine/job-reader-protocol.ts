/**
 * What the job reader thread and the main thread say to each other. A read job comes back as
 * slices of UTF-8 JSON in transferred buffers: receiving them costs the main thread nothing (a
 * transfer, not a copy), and it then parses one slice per turn of its loop. A structured clone
 * of 100,000 task objects costs the receiving side ~140 ms in one go, and even the same JSON as
 * strings costs it ~25 ms to deserialize; a 2,000-task slice parses in ~1 ms.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { JobSpec, SpecIssue, TaskSpec } from '../../contract/job-spec.js';
import type { JobReadResult } from './job-text.js';

/** The thread's `workerData`. */
export interface ReaderRequest {
  text: string;
  fileName: string;
  baseDir: string;
}

/** Items as UTF-8 JSON, or as themselves (structured clone) when JSON would change them. */
export type Slice<T> = Uint8Array | T[];

export type ReaderReply =
  | { ok: true; head: Omit<JobSpec, 'tasks'>; tasks: Array<Slice<TaskSpec>> }
  | { ok: false; issues: Array<Slice<SpecIssue>> };

export const SLICE_ITEMS = 2000;

/** The reply to post, and the buffers to transfer with it. */
export function encodeReply(result: JobReadResult): { reply: ReaderReply; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  if (!result.ok) return { reply: { ok: false, issues: encodeSlices(result.issues, transfer) }, transfer };
  const { tasks, ...head } = result.spec;
  return { reply: { ok: true, head, tasks: encodeSlices(tasks, transfer) }, transfer };
}

/** The result the reply stands for, parsed one slice per turn of the event loop. */
export async function decodeReply(reply: ReaderReply): Promise<JobReadResult> {
  if (!reply.ok) return { ok: false, issues: await decodeSlices(reply.issues) };
  return { ok: true, spec: { ...reply.head, tasks: await decodeSlices(reply.tasks) } };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeSlices<T>(items: T[], transfer: ArrayBuffer[]): Array<Slice<T>> {
  const slices: Array<Slice<T>> = [];
  for (let start = 0; start < items.length; start += SLICE_ITEMS) {
    const slice = items.slice(start, start + SLICE_ITEMS);
    const json = exactJson(slice);
    if (json === null) {
      slices.push(slice);
      continue;
    }
    const bytes = encoder.encode(json);
    transfer.push(bytes.buffer as ArrayBuffer);
    slices.push(bytes);
  }
  return slices;
}

async function decodeSlices<T>(slices: Array<Slice<T>>): Promise<T[]> {
  const items: T[] = [];
  for (const [index, slice] of slices.entries()) {
    if (index > 0) await nextTurn();
    items.push(...(slice instanceof Uint8Array ? (JSON.parse(decoder.decode(slice)) as T[]) : slice));
  }
  return items;
}

/**
 * JSON that parses back to an equal value, or null when it would not: a YAML job can hold
 * `.inf`, `.nan` or `-0` (JSON makes them null or 0), and an `undefined` field would vanish.
 * Such a slice travels as a structured clone instead, which keeps them.
 */
function exactJson(value: unknown): string | null {
  let exact = true;
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, replaced: unknown) {
    if (exact && survivesJson(this[key])) return replaced;
    exact = false;
    return null; // stop here; the text is not used
  });
  return exact ? json : null;
}

function survivesJson(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      const prototype: unknown = Object.getPrototypeOf(value);
      return prototype === Object.prototype || prototype === Array.prototype;
    }
    default:
      return false;
  }
}
