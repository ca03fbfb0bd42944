import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiCallError } from '../../../contract/api';
import type { JobRecord } from '../../../contract/records';
import { JobOutcomeWatcher } from './JobOutcomeWatcher';
import { closeDirectionControls } from '../format';

export type NoticeTone = 'info' | 'error';

export interface NoticeLink {
  href: string;
  label: string;
}

export interface NoticeOptions {
  tone?: NoticeTone;
  /** A later notice of the same topic replaces this one (a job's "started", then its outcome). */
  topic?: string;
  link?: NoticeLink;
}

export interface Notice {
  id: number;
  tone: NoticeTone;
  text: string;
  topic?: string;
  link?: NoticeLink;
}

interface Notices {
  notify(text: string, options?: NoticeTone | NoticeOptions): void;
  /** Reports a failed API call as "what was being done: why". */
  failed(action: string, error: unknown): void;
  /** Says "started" now and, once the job has ended, its outcome in the same place. */
  watchJob(job: JobRecord, what: string): void;
}

const NoticesContext = createContext<Notices>({ notify: () => {}, failed: () => {}, watchJob: () => {} });

export function useNotices(): Notices {
  return useContext(NoticesContext);
}

const SHOWN_MS = 6000;
/** A notice with a link stays long enough to be followed. */
const LINK_SHOWN_MS = 12_000;
const MAX_SHOWN = 3;

/** Short messages about what the user's actions did, in the page's bottom-left corner. */
export function NoticesProvider({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const [watched, setWatched] = useState<ReadonlyMap<string, string>>(new Map());
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => setNotices((all) => all.filter((n) => n.id !== id)), []);
  const notify = useCallback(
    (text: string, options: NoticeTone | NoticeOptions = {}) => {
      const { tone = 'info', topic, link } = typeof options === 'string' ? { tone: options } : options;
      const id = nextId.current++;
      setNotices((all) => {
        const others = topic === undefined ? all : all.filter((n) => n.topic !== topic);
        return [...others.slice(-(MAX_SHOWN - 1)), { id, tone, text, topic, link }];
      });
      setTimeout(() => dismiss(id), link ? LINK_SHOWN_MS : SHOWN_MS);
    },
    [dismiss],
  );
  const watchJob = useCallback(
    (job: JobRecord, what: string) => {
      notify(`${what}: job ${closeDirectionControls(job.name)} (${job.id}) started, ${job.taskCount} task${job.taskCount === 1 ? '' : 's'}`, { topic: job.id });
      setWatched((all) => new Map(all).set(job.id, what));
    },
    [notify],
  );
  const settled = useCallback((jobId: string) => {
    setWatched((all) => {
      const next = new Map(all);
      next.delete(jobId);
      return next;
    });
  }, []);
  const value = useMemo<Notices>(
    () => ({ notify, watchJob, failed: (action, error) => notify(`${action}: ${describeError(error)}`, 'error') }),
    [notify, watchJob],
  );

  return (
    <NoticesContext.Provider value={value}>
      {children}
      <JobOutcomeWatcher watched={watched} onOutcome={notify} onSettled={settled} />
      <section className="notices" aria-label="Notices">
        <div role="status" aria-live="polite" aria-label="Notices">
          {notices.map((notice) => (
            <div key={notice.id} className={`notice notice-${notice.tone}`} data-topic={notice.topic}>
              <span>
                {notice.text}
                {notice.link && (
                  <>
                    {' '}
                    <a href={notice.link.href}>{notice.link.label}</a>
                  </>
                )}
              </span>
              <button type="button" aria-label="Dismiss" onClick={() => dismiss(notice.id)}>
                ×
              </button>
            </div>
          ))}
        </div>
      </section>
    </NoticesContext.Provider>
  );
}

export function describeError(error: unknown): string {
  if (error instanceof ApiCallError) {
    const issues = error.issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
    return issues.length > 0 ? `${error.message} (${issues.join('; ')})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
