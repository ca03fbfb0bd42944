/**
 * Methods only the desktop app has: native dialogs to pick a database, files or a job file.
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

/** A null path or an empty list: the dialog was dismissed. */
export interface DesktopResults {
  pickDatabase: { path: string | null };
  pickFiles: { paths: string[] };
  pickJobFile: { job: PickedJobFile | null };
  metricsEndpoint: MetricsEndpointStatus;
  setMetricsEndpoint: MetricsEndpointStatus;
}

export type DesktopParams<M extends DesktopMethod> = z.input<(typeof desktopParamsSchemas)[M]>;

export type DesktopApi = {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the same test as ApiArgs: every field optional
  [M in DesktopMethod]: {} extends DesktopParams<M>
    ? (params?: DesktopParams<M>) => Promise<DesktopResults[M]>
    : (params: DesktopParams<M>) => Promise<DesktopResults[M]>;
};
