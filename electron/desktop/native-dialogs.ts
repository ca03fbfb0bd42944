/**
 * The desktop methods: native open dialogs for a database, input files or a job file.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BrowserWindow, Dialog, OpenDialogOptions, OpenDialogReturnValue } from 'electron';
import { ApiCallError, apiParamsSchemas } from '../../contract/api.js';
import type { z } from 'zod';
import type { DesktopMethod, DesktopResults, desktopParamsSchemas } from '../../contract/desktop-api.js';

/** Each desktop method, given its validated params. */
export type DesktopHandlers = { [M in DesktopMethod]: (params: z.output<(typeof desktopParamsSchemas)[M]>) => Promise<DesktopResults[M]> };

const DATABASE_FILTERS = [
  { name: 'SQLite databases', extensions: ['sqlite', 'sqlite3', 'db', 'db3'] },
  { name: 'All files', extensions: ['*'] },
];
const JOB_FILE_FILTERS = [
  { name: 'Job files', extensions: ['json', 'yaml', 'yml'] },
  { name: 'All files', extensions: ['*'] },
];

/** The contract's own limit on job text; a bigger file is refused before it is read. */
const jobTextSchema = apiParamsSchemas.submitJob.shape.text;
const MAX_JOB_FILE_BYTES = (jobTextSchema.maxLength ?? Number.MAX_SAFE_INTEGER) * 4;

export function nativeDialogs(dialog: Dialog, window: () => BrowserWindow | null): Pick<DesktopHandlers, 'pickDatabase' | 'pickFiles' | 'pickJobFile'> {
  const open = (options: OpenDialogOptions): Promise<OpenDialogReturnValue> => {
    const parent = window();
    return parent && !parent.isDestroyed() ? dialog.showOpenDialog(parent, options) : dialog.showOpenDialog(options);
  };
  return {
    async pickDatabase() {
      const picked = await open({ title: 'Choose a SQLite database', properties: ['openFile'], filters: DATABASE_FILTERS });
      return { path: picked.canceled ? null : (picked.filePaths[0] ?? null) };
    },
    async pickFiles() {
      const picked = await open({ title: 'Choose files', properties: ['openFile', 'multiSelections'] });
      return { paths: picked.canceled ? [] : picked.filePaths };
    },
    async pickJobFile() {
      const picked = await open({ title: 'Open a job file', properties: ['openFile'], filters: JOB_FILE_FILTERS });
      const file = picked.canceled ? undefined : picked.filePaths[0];
      if (!file) return { job: null };
      return { job: { fileName: file, text: await readJobText(file), baseDir: dirname(file) } };
    },
  };
}

async function readJobText(file: string): Promise<string> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw refusal(file, 'is not a file; expected a JSON or YAML job file');
    if (info.size > MAX_JOB_FILE_BYTES) throw refusal(file, `is ${info.size} bytes; too big for a job file`);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof ApiCallError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? String(error)})`;
    throw refusal(file, problem);
  }
  const checked = jobTextSchema.safeParse(text);
  if (!checked.success) throw refusal(file, checked.error.issues[0]?.message ?? 'is not a valid job file');
  return text;
}

function refusal(file: string, problem: string): ApiCallError {
  return new ApiCallError({ code: 'BAD_REQUEST', message: `${file}: ${problem}` });
}
