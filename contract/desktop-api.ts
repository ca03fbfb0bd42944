/**
 * Methods only the desktop app has: native dialogs to pick a database, files or a job file, and
 * its settings (the metrics endpoint, the remote workers).
 * `window.threadline` in the desktop window is a `ThreadlineApi & DesktopApi`; in a browser
 * these methods are absent, so the renderer checks for them before offering the buttons.
 */
import { z } from 'zod';

export const desktopParamsSchemas = {
  /** A SQLite database file, for a task's `database` field. */
  pickDatabase: z.strictObject({}),
  /** Files for a task's inputs (several may be chosen). */
  pickFiles: z.strictObject({}),
  /** A job file, read in full so it can be passed to `submitJob` as is. */
  pickJobFile: z.strictObject({}),
  /** Whether the Prometheus endpoint on loopback is on, where, and its token. */
  metricsEndpoint: z.strictObject({}),
  /** Turns that endpoint on or off (off by default), optionally on another port (0 picks a free one). */
  setMetricsEndpoint: z.strictObject({ enabled: z.boolean(), port: z.number().int().min(0).max(65_535).optional() }),
  /** The remote workers' Redis (its password hidden) and whether the app keeps local threads, as set and as running now. */
  remoteWorkers: z.strictObject({}),
  /**
   * Sets them for the next start of the engine: `redisUrl` a redis:// or rediss:// URL (a password
   * allowed), null for none, absent to keep the one set; `localThreads: false` keeps no local pool.
   */
  setRemoteWorkers: z.strictObject({ redisUrl: z.string().max(2048).nullable().optional(), localThreads: z.boolean().optional() }),
} as const;

export type DesktopMethod = keyof typeof desktopParamsSchemas;
export const DESKTOP_METHODS = Object.keys(desktopParamsSchemas) as DesktopMethod[];

export function isDesktopMethod(name: unknown): name is DesktopMethod {
  return typeof name === 'string' && Object.hasOwn(desktopParamsSchemas, name);
}

/** A job file the person picked, ready for `submitJob({ text, fileName, baseDir })`. */
export interface PickedJobFile {
  /** The file's absolute path; names the file in validation messages. */
  fileName: string;
  text: string;
  /** The file's folder: its relative paths resolve against it. */
  baseDir: string;
}

/** The desktop app's `GET /metrics` on 127.0.0.1 (what a Prometheus scrape config needs). */
export interface MetricsEndpointStatus {
  enabled: boolean;
  /** The port it is set to. */
  port: number;
  /** Where it answers now; null when off, or when it could not listen (see `problem`). */
  url: string | null;
  /** For `?token=` or `Authorization: Bearer`; null while off. */
  token: string | null;
  problem: string | null;
}

/** Where the desktop app's sync tasks run: its own threads, the `threadline worker`s on a Redis, or both. */
export interface RemoteWorkersChoice {
  /** The Redis URL with its password shown as `***`; null for none. */
  redisUrl: string | null;
  /** False: no local pool, every sync task runs on the remote workers (`--workers 0`). */
  localThreads: boolean;
}

export interface RemoteWorkersStatus {
  /** What is set, for the next start of the engine. */
  setting: RemoteWorkersChoice;
  /** What the engine runs with now (the local pool alone when Redis could not be reached at start). */
  running: RemoteWorkersChoice;
  /** True when the setting differs from what runs: it takes effect when the app starts again. */
  restartNeeded: boolean;
  /** Why the setting is not what runs, in one line (Redis could not be reached at start); null when nothing is wrong. */
  problem: string | null;
}

/** A null path or an empty list: the dialog was dismissed. */
export interface DesktopResults {
  pickDatabase: { path: string | null };
  pickFiles: { paths: string[] };
  pickJobFile: { job: PickedJobFile | null };
  metricsEndpoint: MetricsEndpointStatus;
  setMetricsEndpoint: MetricsEndpointStatus;
  remoteWorkers: RemoteWorkersStatus;
  setRemoteWorkers: RemoteWorkersStatus;
}

export type DesktopParams<M extends DesktopMethod> = z.input<(typeof desktopParamsSchemas)[M]>;

export type DesktopApi = {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the same test as ApiArgs: every field optional
  [M in DesktopMethod]: {} extends DesktopParams<M>
    ? (params?: DesktopParams<M>) => Promise<DesktopResults[M]>
    : (params: DesktopParams<M>) => Promise<DesktopResults[M]>;
};
