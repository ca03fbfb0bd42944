import { useEffect, useId, useState, type DragEvent } from 'react';
import { ApiCallError } from '../../../contract/api';
import { parseJobText, validateJobSpec, type SpecIssue } from '../../../contract/job-spec';
import { useDashboard } from '../app/dashboard-context';
import { nativePickers } from '../app/native-pickers';
import { describeError, useNotices } from '../app/notices';
import { JobDocumentOutline } from './JobDocumentOutline';
import { closeDirectionControls } from '../format';

interface LoadedFile {
  fileName: string;
  text: string;
  /** The file's folder, where the host's picker knows it; else relative paths resolve against the host's folder. */
  baseDir?: string;
  document: unknown;
  issues: SpecIssue[];
  taskCount: number | null;
}

/** Job files larger than this are refused before reading (the host accepts 64 MiB of text). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Loads a job file by picker or drag and drop, checks it with the rules `threadline run` uses,
 * shows each problem at its field, and submits it once it is valid.
 */
export function JobFileLoader() {
  const { api } = useDashboard();
  const { watchJob, failed } = useNotices();
  const pickJobFile = nativePickers(api).pickJobFile;
  const inputId = useId();
  const baseDirId = useId();
  // Where relative paths resolve for a file whose real folder the page cannot know (a browser's).
  const [hostFolder, setHostFolder] = useState<string | null>(null);
  const [baseDir, setBaseDir] = useState('');
  const [folderProblem, setFolderProblem] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    api.hostInfo().then(
      (info) => {
        if (!current) return;
        setHostFolder(info.defaultBaseDir);
        setBaseDir((typed) => typed || info.defaultBaseDir);
      },
      () => {}, // an older host: the field stays empty and the host's own folder applies
    );
    return () => {
      current = false;
    };
  }, [api]);
  const [loaded, setLoaded] = useState<LoadedFile | null>(null);
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);

  const load = async (file: File): Promise<void> => {
    if (file.size > MAX_FILE_BYTES) {
      setLoaded({ fileName: file.name, text: '', document: null, issues: [{ path: '', message: `the file is ${file.size.toLocaleString('en-US')} bytes; at most 64 MiB` }], taskCount: null });
      return;
    }
    const text = await file.text();
    setLoaded(check(file.name, text));
  };

  const onDrop = (event: DragEvent<HTMLDivElement>): void => {
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    if (file) void load(file);
  };

  const run = async (): Promise<void> => {
    if (!loaded) return;
    // The picked file's own folder (desktop), else the folder typed here (browser).
    const folder = loaded.baseDir ?? baseDir.trim();
    if (!loaded.baseDir && folder !== '' && !isAbsolutePath(folder)) {
      setFolderProblem(`the base folder must be an absolute path on the server (got "${folder}")`);
      return;
    }
    setFolderProblem(null);
    setBusy(true);
    try {
      const result = await api.submitJob({
        text: loaded.text,
        fileName: loaded.fileName,
        ...(folder ? { baseDir: folder } : {}),
      });
      if (result.ok) {
        watchJob(result.job, `Job file ${closeDirectionControls(loaded.fileName)}`);
        setLoaded(null);
      } else {
        // The host's word on the folder goes under the folder field, where it can be fixed.
        const aboutFolder = result.issues.filter((issue) => issue.path === '' && issue.message.startsWith('baseDir '));
        if (aboutFolder.length > 0) setFolderProblem(aboutFolder.map((issue) => issue.message).join('; '));
        const rest = result.issues.filter((issue) => !aboutFolder.includes(issue));
        if (rest.length > 0) setLoaded({ ...loaded, issues: rest });
      }
    } catch (error) {
      const issues = error instanceof ApiCallError && error.issues.length > 0 ? error.issues : [{ path: '', message: describeError(error) }];
      setLoaded({ ...loaded, issues });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="form-section" aria-label="Job file">
      <h3>Job file</h3>
      <div
        className={dragging ? 'drop-zone dragging' : 'drop-zone'}
        data-testid="job-drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p>Drop a JSON or YAML job file here, or</p>
        {pickJobFile ? (
          <button
            type="button"
            onClick={() =>
              pickJobFile().then(
                ({ job }) => job && setLoaded({ ...check(job.fileName, job.text), baseDir: job.baseDir }),
                (error: unknown) => failed('Choose a job file', error),
              )
            }
          >
            Choose a job file…
          </button>
        ) : (
          <label htmlFor={inputId} className="button-like">
            Choose a job file…
          </label>
        )}
        <input
          id={inputId}
          className="visually-hidden"
          type="file"
          accept=".json,.yaml,.yml,application/json,text/yaml"
          aria-label="Job file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) void load(file);
          }}
        />
      </div>
      {loaded && (
        <div className="job-review" aria-label={`Review of ${loaded.fileName}`}>
          <p data-testid="job-file-summary">
            <span className="mono">{loaded.fileName}</span>
            {loaded.taskCount !== null && ` · ${loaded.taskCount.toLocaleString('en-US')} task${loaded.taskCount === 1 ? '' : 's'}`}
            {loaded.issues.length === 0 ? ' · valid' : ` · ${loaded.issues.length} problem${loaded.issues.length === 1 ? '' : 's'}`}
          </p>
          {loaded.baseDir ? (
            <p className="field-hint" data-testid="job-base-dir">
              Relative paths resolve against the job file's folder, <span className="mono">{loaded.baseDir}</span>.
            </p>
          ) : (
            <div className="field">
              <label htmlFor={baseDirId}>Base folder (on the server)</label>
              <input
                id={baseDirId}
                className="mono"
                value={baseDir}
                spellCheck={false}
                aria-invalid={folderProblem !== null}
                aria-describedby={folderProblem ? `${baseDirId}-hint ${baseDirId}-problem` : `${baseDirId}-hint`}
                onChange={(e) => {
                  setBaseDir(e.target.value);
                  setFolderProblem(null);
                }}
              />
              {folderProblem && (
                <p id={`${baseDirId}-problem`} className="field-error" role="alert">
                  {folderProblem}
                </p>
              )}
              <p id={`${baseDirId}-hint`} className="field-hint">
                A browser does not tell the server which folder a file came from: relative paths in this job resolve against the folder
                given here. Give the job file's folder.{' '}
                {hostFolder && (
                  <>
                    Default: <span className="mono">{hostFolder}</span>, where the server was started.
                  </>
                )}
              </p>
            </div>
          )}
          <JobDocumentOutline document={loaded.document} issues={loaded.issues} />
          <div className="toolbar">
            <button type="button" className="primary" disabled={busy || loaded.issues.length > 0} onClick={() => void run()}>
              {busy ? 'Starting…' : 'Run job'}
            </button>
            <button type="button" onClick={() => setLoaded(null)}>
              Clear
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

/** POSIX `/…` or Windows `C:\…` / `\\server\…`: the host checks it again, and that the folder exists. */
function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/** Parses and validates a job file's text in the page, without asking the host. */
export function check(fileName: string, text: string): LoadedFile {
  const parsed = parseJobText(text, fileName);
  if (!parsed.ok) return { fileName, text, document: null, issues: [parsed.issue], taskCount: null };
  const tasks = (parsed.document as { tasks?: unknown } | null)?.tasks;
  const taskCount = Array.isArray(tasks) ? tasks.length : null;
  const result = validateJobSpec(parsed.document);
  return { fileName, text, document: parsed.document, issues: result.ok ? [] : result.issues, taskCount };
}
