import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jobFileJsonSchema } from '../../contract/job-spec.js';

describe('the published job-file JSON Schema', () => {
  it('is what the contract generates (run "npm run schema" after changing a kind)', () => {
    const published = JSON.parse(readFileSync(new URL('../../docs/job-file.schema.json', import.meta.url), 'utf8'));
    expect(published).toEqual(jobFileJsonSchema());
  });
});
