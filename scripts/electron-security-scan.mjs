// Runs Electronegativity's checks over a folder without its network calls (its CLI fetches
// translations, and one check fetches Electron's release list): the same loader, parser,
// finder and global checks, with the bundled English texts.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('@doyensec/electronegativity/package.json'));
const load = (path) => require(join(root, 'dist', path));

/** Checks that reach the network; the Electron version is pinned in package.json instead. */
const NETWORK_CHECKS = ['availablesecurityfixesglobalcheck'];

/**
 * Scans the given folders and files as one app (global checks such as navigation limits look
 * across all of them). Paths in the report are relative to `root`.
 */
export async function scanElectronApp(paths, { root = process.cwd(), electronVersion } = {}) {
  const staging = mkdtempSync(join(tmpdir(), 'threadline-security-scan-'));
  try {
    for (const path of paths) cpSync(join(root, path), join(staging, path), { recursive: true });
    const report = await scanFolder(staging, electronVersion);
    for (const item of [...report.issues, ...report.errors]) item.file = relative(staging, item.file) || basename(item.file);
    return report;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function scanFolder(input, electronVersion) {
  const i18n = require(require.resolve('i18n', { paths: [root] }));
  i18n.configure({ locales: ['en-US'], defaultLocale: 'en-US', directory: join(root, 'dist', 'locales'), updateFiles: false, objectNotation: true, register: globalThis });
  const { LoaderDirectory } = load('loader/index.js');
  const { Parser } = load('parser/parser.js');
  const { Finder, GlobalChecks } = load('finder/index.js');
  const loader = new LoaderDirectory();
  await loader.load(input);
  const parser = new Parser(false, true);
  const globalChecker = new GlobalChecks([], NETWORK_CHECKS, false);
  const finder = await new Finder([], [], false);
  let issues = [];
  const errors = [];
  for (const file of loader.list_files) {
    try {
      const [type, data, content] = parser.parse(file, loader.load_buffer(file));
      if (data === null) continue;
      issues.push(...(await finder.find(file, data, type, content, null, electronVersion ?? loader.electronVersion)));
    } catch (error) {
      errors.push({ file, message: error.message });
    }
  }
  issues = await globalChecker.getResults(issues);
  issues = issues.filter((i) => !i.visibility || (!i.visibility.inlineDisabled && !i.visibility.globalCheckDisabled));
  return {
    checks: finder._enabled_checks.length + globalChecker._enabled_checks.length,
    files: loader.list_files.size ?? [...loader.list_files].length,
    errors,
    issues: issues.map((i) => ({ id: i.id, file: i.file, line: i.location?.line, severity: i.severity?.name ?? String(i.severity?.value), confidence: i.confidence?.name, description: i.description })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = await scanElectronApp(process.argv.length > 2 ? process.argv.slice(2) : ['electron', 'renderer', 'package.json']);
  console.log(JSON.stringify(report, null, 2));
}
