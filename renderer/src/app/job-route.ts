import { useCallback, useEffect, useState } from 'react';

/**
 * The job a page shows, in its URL's hash: `#/jobs/<jobId>`. The hash leaves the query (and its
 * token) alone, so a link to a job is the URL `threadline serve` printed plus the hash.
 */
const JOB_HASH = /^#\/jobs\/([^/?#]+)\/?$/;

export function jobHref(jobId: string): string {
  return `#/jobs/${encodeURIComponent(jobId)}`;
}

export function jobIdOfHash(hash: string): string | null {
  const match = JOB_HASH.exec(hash);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return null;
  }
}

/** The job in the URL, and a way to change it (which adds a history entry, so Back works). */
export function useJobRoute(): [string | null, (jobId: string | null) => void] {
  const [jobId, setJobId] = useState(() => jobIdOfHash(window.location.hash));
  useEffect(() => {
    const onHashChange = () => setJobId(jobIdOfHash(window.location.hash));
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);
  const open = useCallback((next: string | null) => {
    const hash = next === null ? '' : jobHref(next);
    if (window.location.hash === hash || (hash === '' && window.location.hash === '')) return;
    if (hash === '') window.history.pushState(null, '', `${window.location.pathname}${window.location.search}`);
    else window.location.hash = hash;
    setJobId(next);
  }, []);
  return [jobId, open];
}
