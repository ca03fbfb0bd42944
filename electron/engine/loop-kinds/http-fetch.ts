import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { z } from 'zod';
import type { httpFetch as spec } from '../../../contract/kinds/http.js';
import { fileError, isDiskFull } from '../../../shared/file-errors.js';
import { TaskFailure, TaskInputError } from '../../../shared/task-errors.js';
import type { LoopTaskContext } from './loop-handler.js';
import { createFolderOf } from '../../../shared/output-folder.js';

/** Body text kept in the result when there is no `output` file (the result is stored in the history). */
const MAX_BODY_IN_RESULT = 64 * 1024;

export interface HttpFetchResult {
  url: string;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  bytes: number;
  /** The body as text, when there is no output file (at most 64 KiB of it). */
  body?: string;
  truncated?: boolean;
  output?: string;
}

export async function httpFetch(input: z.infer<typeof spec.input>, ctx: LoopTaskContext): Promise<HttpFetchResult> {
  if (input.output) checkOutputFolder(input.output);
  let response: Response;
  try {
    response = await fetch(input.url, { method: input.method, signal: ctx.signal, ...requestBody(input.headers, input.body) });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw fetchFailure(error, input.method, input.url);
  }
  const head = {
    url: response.url,
    status: response.status,
    statusText: response.statusText,
    headers: Object.fromEntries(response.headers),
  };
  if (!response.ok) {
    await response.body?.cancel();
    throw new TaskInputError(`${input.method} ${input.url}: the server answered ${response.status} ${response.statusText}`.trimEnd(), 'HTTP_STATUS');
  }
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  const progress = (bytes: number) => ctx.progress(total ? bytes / total : null, `${bytes} bytes`);
  // A HEAD request (or a 204) has no body: an output file is then written empty.
  const body = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
  if (input.output) {
    const bytes = await download(body, input.output, ctx.signal, progress);
    return { ...head, bytes, output: input.output };
  }
  return { ...head, ...(await readText(body, progress)) };
}

async function download(body: Readable, output: string, signal: AbortSignal, progress: (bytes: number) => void): Promise<number> {
  // Written beside the target and renamed at the end, so a failed download never replaces a good file.
  const partial = `${output}.partial`;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      progress(bytes);
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, counter, createWriteStream(partial), { signal });
    renameSync(partial, output);
    return bytes;
  } catch (error) {
    rmSync(partial, { force: true });
    if (signal.aborted) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EISDIR' || code === 'ENOENT') throw new TaskInputError(`cannot write ${output}: ${(error as Error).message}`, code);
    if (isDiskFull(error)) throw fileError(error, output);
    throw error;
  }
}

async function readText(body: Readable, progress: (bytes: number) => void): Promise<{ bytes: number; body: string; truncated?: boolean }> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    progress(bytes);
    if (kept < MAX_BODY_IN_RESULT) {
      chunks.push(chunk);
      kept += chunk.length;
    }
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_BODY_IN_RESULT).toString('utf8');
  return bytes > MAX_BODY_IN_RESULT ? { bytes, body: text, truncated: true } : { bytes, body: text };
}

/** Missing folders on the way to the output are created, as by every kind that writes a file. */
function checkOutputFolder(output: string): void {
  createFolderOf(output);
  if (statSync(output, { throwIfNoEntry: false })?.isDirectory()) throw new TaskInputError(`output ${output} is a directory; expected a file path`, 'EISDIR');
}

/** Headers and body for `fetch`: a string body as is, any other value as JSON. */
export function requestBody(headers: Record<string, string> | undefined, body: unknown): { headers?: Record<string, string>; body?: string } {
  if (body === undefined) return headers ? { headers } : {};
  if (typeof body === 'string') return { headers, body };
  const hasType = Object.keys(headers ?? {}).some((name) => name.toLowerCase() === 'content-type');
  return { headers: hasType ? headers : { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** `fetch` rejects with "fetch failed" and hides the reason in `cause`; this names it. */
export function fetchFailure(error: unknown, method: string, url: string): Error {
  if ((error as Error)?.name === 'AbortError') return error as Error;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const reason = typeof cause?.message === 'string' && cause.message ? cause.message : (error as Error)?.message ?? String(error);
  const code = typeof cause?.code === 'string' ? cause.code : 'FETCH_FAILED';
  // The network's failure, not the input's: a retry may well succeed.
  return new TaskFailure(`${method} ${url} failed: ${reason}`, code);
}
