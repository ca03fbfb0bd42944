/**
 * Where text lands on a terminal, measured by an implementation other than the CLI's: Python's
 * `wcwidth` (pip's `wcwidth`, or Debian's `python3-wcwidth`), which follows wcwidth(3) and knows emoji sequences
 * and combining marks. The CLI measures with string-width; a test that measured with it too
 * could not notice that both are wrong.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

const MEASURE = String.raw`
import json, re, sys
from wcwidth import wcswidth
lines = json.load(sys.stdin)
out = []
for line in lines:
    width = wcswidth(line)
    # A column begins after two spaces; its start is the width of all before it.
    starts = [wcswidth(line[:m.start()]) for m in re.finditer(r'(?<=  )[^ ]', line)]
    out.append({'width': width, 'starts': starts})
json.dump(out, sys.stdout)
`;

export interface Measured {
  /** The columns the line takes (-1 if it holds a character a terminal does not print). */
  width: number;
  /** The columns at which a cell begins after two spaces. */
  starts: number[];
}

export function measureColumns(lines: string[]): Measured[] {
  const result = spawnSync('python3', ['-c', MEASURE], { input: JSON.stringify(lines), encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`python3 with wcwidth is needed to measure terminal columns (pip install wcwidth): ${result.error?.message ?? result.stderr}`);
  }
  return JSON.parse(result.stdout) as Measured[];
}

/** Every row of a table (its header, rule, rows) has a cell beginning where each of `headers` begins, in terminal columns. */
export function expectColumnsAligned(table: string[], headers: string[]): void {
  const [header, ...rest] = measureColumns(table);
  const headerLine = table[0]!;
  for (const name of headers.slice(1)) {
    // The header is ASCII: its columns are its characters.
    const at = header!.starts.find((start) => headerLine.slice(start).startsWith(name));
    expect(at, `${name} in the header ${headerLine}`).toBeDefined();
    rest.forEach((row, i) => expect(row.starts, `${name} at column ${at} in ${JSON.stringify(table[i + 1])}`).toContain(at));
  }
}
