#!/usr/bin/env node
// The `threadline` command. `npm install` (prepare) runs `npm run build:node`, which compiles the
// CLI to dist/ and bundles it into dist/cli/ (scripts/bundle-cli.mjs): a command then starts by
// reading a few files instead of some 300 modules.
import { statSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);

const modifiedMs = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs;

/** The bundle; the compiled modules as they are when dist/ was compiled again after it was made (a bare `tsc -b`). */
function cliEntry() {
  const bundled = modifiedMs(new URL('cli/built', dist));
  const compiled = modifiedMs(new URL('.tsbuildinfo.node', dist));
  if (bundled !== undefined && compiled !== undefined && bundled >= compiled) return new URL('cli/threadline.js', dist);
  return compiled === undefined ? null : new URL('electron/cli/main.js', dist);
}

const entry = cliEntry();
if (!entry) {
  process.stderr.write('threadline: the CLI is not built yet; run "npm install" (or "npm run build:node") in the project folder\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
