import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TASK_ERROR_CODES, describeTaskErrorCode } from '../../contract/task-error-codes.js';

/** The rows between the markers of docs/task-kinds.md. */
function documentedCodes(): Record<string, { meaning: string; retryHelps: boolean }> {
  const doc = readFileSync(new URL('../../docs/task-kinds.md', import.meta.url), 'utf8');
  const section = /<!-- task-error-codes:begin -->([\s\S]*?)<!-- task-error-codes:end -->/.exec(doc)?.[1];
  if (!section) throw new Error('docs/task-kinds.md has no task-error-codes section');
  const rows = section.trim().split('\n').slice(2);
  return Object.fromEntries(
    rows.map((row) => {
      const [code = '', meaning = '', retry = ''] = row.split('|').slice(1, 4).map((cell) => cell.trim());
      return [code.replaceAll('`', ''), { meaning, retryHelps: retry === 'yes' }];
    }),
  );
}

describe('the catalogue of task error codes', () => {
  it('is the table docs/task-kinds.md shows', () => {
    expect(documentedCodes()).toEqual(TASK_ERROR_CODES);
  });

  it('describes its own codes and no other', () => {
    expect(describeTaskErrorCode('PROCESS_CRASHED')).toEqual({ meaning: expect.stringContaining('process died'), retryHelps: false });
    expect(describeTaskErrorCode('ECONNREFUSED')).toBeNull();
    expect(describeTaskErrorCode('toString')).toBeNull();
  });
});
