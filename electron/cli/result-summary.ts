/** How long a summary may be: one terminal line with the task's name before it. */
const SUMMARY_CHARS = 100;

type Fields = Record<string, unknown>;

const count = (n: unknown, one: string, many = `${one}s`): string => `${typeof n === 'number' ? n.toLocaleString('en-US') : '?'} ${n === 1 ? one : many}`;
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const obj = (value: unknown): Fields => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Fields) : {});

/** What each kind's result says in a few words; other kinds (a script's return value) show as JSON. */
const SUMMARIES: Record<string, (r: Fields) => string> = {
  'sql.query': (r) => `${count(r.rowCount, 'row')}${r.output ? ` exported to ${str(obj(r.output).path)}` : ''}`,
  'sql.exec': (r) => `${count(r.statements, 'statement')}, ${count(r.changes, 'row')} changed`,
  'csv.import': (r) => `${count(r.rows, 'row')} imported into ${str(r.table)}`,
  'file.hash': (r) => `${count(r.hashed, 'file')} hashed${r.failed ? `, ${count(r.failed, 'failure')}` : ''}${r.manifest ? `, manifest ${str(r.manifest)}` : ''}`,
  'file.compress': (r) => `${count(list(r.files).length, 'file')}, ${count(r.bytesIn, 'byte')} to ${count(r.bytesOut, 'byte')}`,
  'file.decompress': (r) => `${count(list(r.files).length, 'file')}, ${count(r.bytesIn, 'byte')} to ${count(r.bytesOut, 'byte')}`,
  'file.grep': (r) => `${count(r.matchCount, 'match', 'matches')} found in ${count(r.filesMatched, 'file')} (${count(r.filesSearched, 'file')} searched)`,
  'file.stats': (r) => `${count(list(r.files).length, 'file')}: ${count(obj(r.total).lines, 'line')}, ${count(obj(r.total).words, 'word')}, ${count(obj(r.total).bytes, 'byte')}`,
  'http.fetch': (r) => `HTTP ${String(r.status ?? '?')}${r.statusText ? ` ${str(r.statusText)}` : ''}${r.output ? `, ${count(r.bytes, 'byte')} to ${str(r.output)}` : ''}`,
};

/** A task's result in one line of at most 100 characters, or '' when there is none. */
export function resultSummary(kind: string, result: unknown): string {
  if (result === null || result === undefined) return '';
  const summarize = SUMMARIES[kind];
  let text: string;
  try {
    text = summarize && typeof result === 'object' ? summarize(result as Fields) : JSON.stringify(result);
  } catch {
    text = String(result);
  }
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= SUMMARY_CHARS ? line : `${line.slice(0, SUMMARY_CHARS - 1)}…`;
}
