// A script task for Threadline: counts the most frequent words of text files and of a web page.
// Threadline calls the default export as fn(args, ctx) on a worker thread; plain synchronous
// code is fine here, it never blocks the app's event loop.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { globSync } from 'tinyglobby';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * @param {{ files?: string[], url?: string, top?: number }} args
 * @param {{ throwIfCancelled(): void, progress(fraction: number, message?: string): void, log(message: string): void, call(name: string, ...args: unknown[]): any }} ctx
 */
export default function wordCount(args, ctx) {
  const files = (args.files ?? []).flatMap((pattern) => globSync(resolve(here, pattern), { absolute: true }).sort());
  const counts = new Map();
  const add = (text) => {
    for (const word of text.toLowerCase().match(/\p{L}+/gu) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  };
  files.forEach((file, index) => {
    ctx.throwIfCancelled();
    add(readFileSync(file, 'utf8'));
    ctx.progress((index + 1) / files.length, file);
  });
  if (args.url) {
    // A synchronous call into the main thread's fetch: this thread waits, the app does not.
    const page = ctx.call('fetch', args.url);
    if (!page.ok) throw new Error(`${args.url} answered ${page.status} ${page.statusText}`);
    add(page.text.replace(/<[^>]*>/g, ' '));
    ctx.log(`fetched ${page.text.length} characters from ${args.url}`);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, args.top ?? 10);
  return { files: files.length, distinctWords: counts.size, top: top.map(([word, count]) => ({ word, count })) };
}
