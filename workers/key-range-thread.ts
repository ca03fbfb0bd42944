/**
 * The entry of a range thread of a split key-ordered export (`handlers/key-ordered-export.ts`):
 * a file of its own, so that a range thread loads only what exporting key ranges needs. Every
 * build puts it beside the pool's entry, where the engine finds it.
 */
import { workerData } from 'node:worker_threads';
import { exportPart, type PartJob } from './handlers/key-ordered-export.js';

const job = (workerData as { keyOrderedExportPart?: PartJob } | null)?.keyOrderedExportPart;
if (job) exportPart(job);
