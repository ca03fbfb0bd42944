import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiCallError } from '../../../contract/api';

export type NoticeTone = 'info' | 'error';

export interface Notice {
  id: number;
  tone: NoticeTone;
  text: string;
}

interface Notices {
  notify(text: string, tone?: NoticeTone): void;
  /** Reports a failed API call as "what was being done: why". */
  failed(action: string, error: unknown): void;
}

const NoticesContext = createContext<Notices>({ notify: () => {}, failed: () => {} });

export function useNotices(): Notices {
  return useContext(NoticesContext);
}

const SHOWN_MS = 6000;
const MAX_SHOWN = 4;

/** Short messages about what the user's actions did, at the bottom of the page. */
export function NoticesProvider({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const nextId = useRef(1);

  const dismiss = useCallback((id: number) => setNotices((all) => all.filter((n) => n.id !== id)), []);
  const notify = useCallback(
    (text: string, tone: NoticeTone = 'info') => {
      const id = nextId.current++;
      setNotices((all) => [...all.slice(-(MAX_SHOWN - 1)), { id, tone, text }]);
      setTimeout(() => dismiss(id), SHOWN_MS);
    },
    [dismiss],
  );
  const value = useMemo<Notices>(
    () => ({ notify, failed: (action, error) => notify(`${action}: ${describeError(error)}`, 'error') }),
    [notify],
  );

  return (
    <NoticesContext.Provider value={value}>
      {children}
      <div className="notices" role="status" aria-live="polite" aria-label="Notices">
        {notices.map((notice) => (
          <div key={notice.id} className={`notice notice-${notice.tone}`}>
            <span>{notice.text}</span>
            <button type="button" aria-label="Dismiss" onClick={() => dismiss(notice.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
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
