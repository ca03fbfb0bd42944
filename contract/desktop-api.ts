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

/** A null path or an empty list: the dialog was dismissed. */
export interface DesktopResults {
  pickDatabase: { path: string | null };
  pickFiles: { paths: string[] };
  pickJobFile: { job: PickedJobFile | null };
}

export type DesktopApi = {
  [M in DesktopMethod]: (params?: z.input<(typeof desktopParamsSchemas)[M]>) => Promise<DesktopResults[M]>;
};
