/** How the dashboard writes durations, sizes and rates. */

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 0) ms = 0;
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m ${String(seconds).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return 'n/a';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '–';
  return perSecond >= 100 ? `${Math.round(perSecond)}/s` : `${perSecond.toFixed(1)}/s`;
}

export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '–';
  return `${Math.round(fraction * 100)}%`;
}

export function formatClock(at: number, withMillis = false): string {
  const d = new Date(at);
  const hms = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return withMillis ? `${hms}.${String(d.getMilliseconds()).padStart(3, '0')}` : hms;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** How long ago something was, from `ms` elapsed: `just now`, `4 s ago`, `3 min ago`, `2 h ago`. */
export function formatAgo(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s ago`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return `${Math.floor(ms / 86_400_000)} d ago`;
}

const OPENS_EMBEDDING = new Set(['\u202A', '\u202B', '\u202D', '\u202E']);
const OPENS_ISOLATE = new Set(['\u2066', '\u2067', '\u2068']);

/**
 * A person's text (a job's name, a file's name) as it goes into a sentence of ours: the
 * direction overrides and isolates it leaves open are closed at its end, so that an
 * U+202E in a name cannot turn the rest of the sentence ("failed: 1 of 4 tasks") backwards.
 * Text without open ones comes back as it was.
 */
export function closeDirectionControls(text: string): string {
  const open: string[] = [];
  for (const char of text) {
    if (OPENS_EMBEDDING.has(char)) open.push('\u202C');
    else if (OPENS_ISOLATE.has(char)) open.push('\u2069');
    else if (char === '\u202C' && open.at(-1) === '\u202C') open.pop();
    else if (char === '\u2069' && open.includes('\u2069')) {
      // An isolate's end closes the embeddings opened inside it too.
      while (open.pop() !== '\u2069');
    }
  }
  return text + open.reverse().join('');
}
