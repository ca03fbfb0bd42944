import type { HostNotice } from '../../contract/api.js';
import { isStoreNotice } from './store-trouble.js';
import { oneLine } from './terminal-text.js';

/**
 * A host's notices as lines of its log (stderr): each once when it appears and once when it
 * clears, not on every change of its text, so that a notice that keeps changing (more refused
 * workers heard) cannot flood the log. The dashboard shows every change.
 */
export function noticeLines(print: (line: string) => void): (notices: HostNotice[]) => void {
  let shown = new Set<string>();
  return (notices) => {
    const now = new Map(notices.map((notice) => [groupOf(notice), notice]));
    for (const [group, notice] of now) if (!shown.has(group)) print(appeared(notice));
    for (const group of shown) if (!now.has(group)) print(cleared(group));
    shown = new Set(now.keys());
  };
}

/** A full disk and a failed write are one condition of the store, said once. */
function groupOf(notice: HostNotice): string {
  return isStoreNotice(notice) ? 'store' : notice.code;
}

function appeared(notice: HostNotice): string {
  // One line of the host's log each; a notice may quote a worker's name, which a remote worker chooses.
  const line = `${oneLine(notice.message)} [${notice.code}]`;
  return isStoreNotice(notice) ? `${line}: no task starts until the store can be written` : line;
}

function cleared(group: string): string {
  if (group === 'store') return 'the job store is written again';
  if (group === 'REMOTE_WORKER_REFUSED') return 'no remote worker announces itself under a refused name any more [REMOTE_WORKER_REFUSED]';
  if (group === 'REDIS_UNREACHABLE') return 'Redis can be reached again [REDIS_UNREACHABLE]';
  if (group === 'REMOTE_WORKER_TURNED_AWAY') return 'no remote worker is turned away any more [REMOTE_WORKER_TURNED_AWAY]';
  if (group === 'REMOTE_WORKER_CUT_OFF') return 'the remote workers keep their connections to Redis again [REMOTE_WORKER_CUT_OFF]';
  return `no longer so [${group}]`;
}
