/** A result that reads as a table: SQL rows, or any list of records. */
export interface ResultTable {
  columns: string[];
  rows: unknown[][];
  /** Rows in the result, including those not kept for the preview. */
  total: number;
  /** The result's other fields (e.g. where the rows were written), when it is an object. */
  rest: Record<string, unknown> | null;
}

/** Where a result object keeps its rows: `rows`, or `preview` (sql.query keeps the first 100). */
const ROW_FIELDS = ['rows', 'preview'] as const;

const PREVIEW_ROWS = 200;
const COLUMN_SCAN_ROWS = 50;

/**
 * Finds rows in a task's result: an array of objects, or an object with `rows` or `preview`
 * (records, or arrays of values named by `columns`) and maybe a `rowCount`. Null when the
 * result is not tabular.
 */
export function resultTable(result: unknown, limit = PREVIEW_ROWS): ResultTable | null {
  let rows: unknown = result;
  let columns: unknown = undefined;
  let total: number | undefined;
  let rest: Record<string, unknown> | null = null;
  const rowField = isRecord(result) ? ROW_FIELDS.find((field) => Array.isArray(result[field])) : undefined;
  if (isRecord(result) && rowField) {
    rows = result[rowField];
    columns = result.columns;
    if (typeof result.rowCount === 'number') total = result.rowCount;
    rest = Object.fromEntries(Object.entries(result).filter(([key]) => key !== rowField && key !== 'columns'));
  }
  if (!Array.isArray(rows) || rows.length === 0) return null;
  const named = Array.isArray(columns) ? columns.map((c) => (isRecord(c) && typeof c.name === 'string' ? c.name : String(c))) : null;
  const kept = rows.slice(0, limit);
  if (kept.every(Array.isArray)) {
    const width = Math.max(...kept.map((row) => (row as unknown[]).length));
    const heads = named ?? Array.from({ length: width }, (_, i) => `#${i + 1}`);
    return { columns: heads, rows: kept as unknown[][], total: total ?? rows.length, rest };
  }
  if (!kept.every(isRecord)) return null;
  const heads = named ?? unionKeys(kept.slice(0, COLUMN_SCAN_ROWS) as Record<string, unknown>[]);
  return {
    columns: heads,
    rows: (kept as Record<string, unknown>[]).map((row) => heads.map((column) => row[column])),
    total: total ?? rows.length,
    rest,
  };
}

function unionKeys(rows: Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) keys.add(key);
  return [...keys];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A cell as text: null stays visible, objects are JSON, long text is cut. */
export function cellText(value: unknown, max = 200): string {
  let text: string;
  if (value === null) text = 'NULL';
  else if (value === undefined) text = '';
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Pretty JSON, cut to `max` characters so a huge result cannot stall the page. */
export function previewJson(value: unknown, max = 20_000): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}\n… (${(text.length - max).toLocaleString('en-US')} more characters)` : text;
}
