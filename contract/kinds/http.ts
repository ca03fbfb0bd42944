import { z } from 'zod';
import { defineKind } from './kind-spec.js';
import { pathSchema } from './path-list.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export const httpFetch = defineKind({
  name: 'http.fetch',
  executor: 'loop',
  summary: 'Fetches a URL on the event loop; the body goes to a file or into the result. Fails on a non-2xx status.',
  input: () => z.object({
    url: z.string().refine(isHttpUrl, 'expected an http:// or https:// URL'),
    method: z.enum(HTTP_METHODS).default('GET'),
    headers: z.record(z.string(), z.string()).optional(),
    /** A string is sent as is; any other JSON value is sent as JSON. */
    body: z.unknown().optional(),
    /** Where to stream the body; replaced only when the download completes. */
    output: pathSchema().optional(),
  }),
  resolvePaths: (input, resolve) => ({ ...input, ...(input.output === undefined ? {} : { output: resolve.file(input.output) }) }),
});
