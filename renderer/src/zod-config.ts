import { z } from 'zod';

// The pages' CSP forbids eval. zod probes for it once (a caught `new Function`), and a strict
// CSP reports even a caught try; jitless mode skips the probe. Imported first by main.tsx,
// before any module builds a schema.
z.config({ jitless: true });
