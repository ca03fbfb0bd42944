// Writes docs/job-file.schema.json, the published JSON Schema of job files (from the built contract).
import { writeFileSync } from 'node:fs';
import { jobFileJsonSchema } from '../dist/contract/job-spec.js';

const target = new URL('../docs/job-file.schema.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(jobFileJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
