/**
 * Gets better-sqlite3 built for Electron's ABI without touching node_modules, whose Node build
 * the CLI and the tests use: a private copy of the package gets a prebuilt binary
 * (prebuild-install) or, failing that and for this machine only, a source build
 * (@electron/rebuild, when installed). Used by `npm start` (scripts/start-desktop.mjs) and by
 * packaging (after-pack.mjs). Plain Node, no build step.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';

const PREBUILT_DOWNLOAD_TIMEOUT_MS = 120_000;
const SOURCE_BUILD_TIMEOUT_MS = 15 * 60_000;
export const SQLITE_BINARY = 'better_sqlite3.node';

/** Versions the Electron build of better-sqlite3 depends on (what build.json records). */
export function electronSqliteWanted(root) {
  const require = createRequire(join(root, 'package.json'));
  const electronDir = dirname(require.resolve('electron/package.json'));
  const electron = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;
  const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'));
  const betterSqlite3 = JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')).version;
  let modules;
  try {
    modules = readFileSync(join(electronDir, 'abi_version'), 'utf8').trim();
  } catch {
    modules = String(require('node-abi').getAbi(electron, 'electron'));
  }
  return { electron, modules, betterSqlite3 };
}

/** The last lines of a child's output, without stack frames: enough to say why it failed. */
export function lastLinesOf(text, count = 3) {
  const lines = String(text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at '));
  return lines.slice(-count).join(' / ');
}

function resolveOptional(require, specifier) {
  try {
    return require.resolve(specifier);
  } catch {
    return null;
  }
}

/**
 * Builds (or downloads) better-sqlite3 for Electron `electronVersion` on `platform`/`arch`
 * (Node's names) and copies the binary to `destination`. Returns `{ ok: true, how }` or
 * `{ ok: false, problems }`, one line per attempt.
 */
export function buildElectronSqlite({ root, electronVersion, platform = process.platform, arch = process.arch, destination }) {
  const require = createRequire(join(root, 'package.json'));
  const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'));
  const sqliteVersion = JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')).version;
  const work = mkdtempSync(join(tmpdir(), 'threadline-electron-sqlite-'));
  try {
    const copy = join(work, 'node_modules', 'better-sqlite3');
    const nodeBuild = join(sqliteDir, 'build');
    mkdirSync(copy, { recursive: true });
    cpSync(sqliteDir, copy, { recursive: true, filter: (source) => source !== nodeBuild && !source.startsWith(nodeBuild + sep) });
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'threadline-native', private: true, dependencies: { 'better-sqlite3': sqliteVersion } }));

    const attempts = [
      {
        how: 'prebuilt download',
        command: [require.resolve('prebuild-install/bin.js'), '--runtime', 'electron', '--target', electronVersion, '--arch', arch, '--platform', platform],
        timeout: PREBUILT_DOWNLOAD_TIMEOUT_MS,
      },
    ];
    // Installed with electron-builder; its package exports only its library, so find the CLI beside it.
    const rebuildMain = resolveOptional(require, '@electron/rebuild');
    if (rebuildMain && platform === process.platform && arch === process.arch) {
      attempts.push({
        how: 'build from source with @electron/rebuild',
        command: [join(dirname(rebuildMain), 'cli.js'), '--version', electronVersion, '--arch', arch, '--module-dir', work, '--only', 'better-sqlite3', '--force'],
        timeout: SOURCE_BUILD_TIMEOUT_MS,
      });
    }
    const problems = [];
    for (const attempt of attempts) {
      const run = spawnSync(process.execPath, attempt.command, { cwd: copy, encoding: 'utf8', timeout: attempt.timeout, stdio: ['ignore', 'pipe', 'pipe'] });
      const built = join(copy, 'build', 'Release', SQLITE_BINARY);
      if (run.status === 0 && existsSync(built)) {
        mkdirSync(dirname(destination), { recursive: true });
        cpSync(built, destination);
        return { ok: true, how: attempt.how };
      }
      const reason = run.error?.code === 'ETIMEDOUT' ? 'timed out' : lastLinesOf(`${run.stdout}\n${run.stderr}`) || `exit status ${run.status}`;
      problems.push(`${attempt.how}: ${reason}`);
    }
    return { ok: false, problems };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
