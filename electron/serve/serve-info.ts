import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The file the host that owns a data directory (`threadline serve` or the desktop app) leaves
 * there while it runs, so that other commands can reach its API.
 */
export const SERVE_INFO_FILE = 'serve.json';

/** Which host wrote the file: a file without the field comes from a `serve`. */
export const HOST_APPS = ['serve', 'desktop'] as const;

const serveInfoSchema = z.object({
  url: z.string(),
  host: z.string(),
  port: z.number().int().min(1).max(65_535),
  token: z.string().min(1),
  pid: z.number().int().positive(),
  startedAt: z.number(),
  app: z.enum(HOST_APPS).default('serve'),
});

export type ServeInfo = z.infer<typeof serveInfoSchema>;

/** The host as a message names it: `"threadline serve"`, or `the Threadline desktop app`. */
export function hostName(info: Pick<ServeInfo, 'app'>): string {
  return info.app === 'desktop' ? 'the Threadline desktop app' : '"threadline serve"';
}

/** The same where English wants the article: `the "threadline serve"`, `the Threadline desktop app`. */
export function theHost(info: Pick<ServeInfo, 'app'>): string {
  return info.app === 'desktop' ? hostName(info) : `the ${hostName(info)}`;
}

/** Written atomically and readable by its owner only: it holds the token. */
export function writeServeInfo(dataDir: string, info: z.input<typeof serveInfoSchema>): void {
  const file = join(dataDir, SERVE_INFO_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

/** Removes the file if this process wrote it (a newer serve may have replaced it). */
export function removeServeInfo(dataDir: string, pid = process.pid): void {
  const file = join(dataDir, SERVE_INFO_FILE);
  try {
    if (readServeInfoFile(file)?.pid === pid) rmSync(file, { force: true });
  } catch {
    // already gone or unreadable: nothing of ours to remove
  }
}

function readServeInfoFile(file: string): ServeInfo | null {
  const parsed = serveInfoSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success ? parsed.data : null;
}

export type ServeLookup = { ok: true; info: ServeInfo } | { ok: false; problem: string };

/** Finds the `serve` running on a data directory, or says why there is none. */
export function findRunningServe(dataDir: string): ServeLookup {
  const file = join(dataDir, SERVE_INFO_FILE);
  let info: ServeInfo | null;
  try {
    info = readServeInfoFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { ok: false, problem: `no "threadline serve" is running on the data directory ${dataDir} (no ${SERVE_INFO_FILE}); start one with "threadline serve --data-dir ${dataDir}"` };
    }
    return { ok: false, problem: `${file} cannot be read: ${(error as Error).message.split('\n')[0]}` };
  }
  if (!info) return { ok: false, problem: `${file} is not a valid serve file; expected {url, host, port, token, pid, startedAt}` };
  if (!processAlive(info.pid)) {
    return { ok: false, problem: `${theHost(info)} that wrote ${file} (pid ${info.pid}) is no longer running` };
  }
  return { ok: true, info };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
