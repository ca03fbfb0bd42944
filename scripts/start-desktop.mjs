#!/usr/bin/env node
/**
 * `npm start` (build, then open the desktop app) and `npm run dev` (`--dev`: Vite's dev
 * server with reload). Other arguments go to electron-vite (`--outDir`, `--entry`, ...).
 *
 * Before launching it makes sure of two things:
 *  1. Electron's binary is there (electron 45 downloads it lazily): if it is missing it tries
 *     the download once, and if that fails it stops with a message pointing to
 *     `npx threadline serve`, the same app in a browser.
 *  2. better-sqlite3 built for Electron's ABI is in native/electron/ (node_modules keeps the
 *     Node build that the CLI and the tests use). If it cannot be had, it warns and goes on.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));
const ELECTRON_DOWNLOAD_TIMEOUT_MS = 120_000;
const PREBUILT_DOWNLOAD_TIMEOUT_MS = 120_000;
const SOURCE_BUILD_TIMEOUT_MS = 15 * 60_000;
// Must match electron/desktop/electron-sqlite.ts, which the app uses to find the build.
const SQLITE_DIR = join(ROOT, 'native', 'electron');
const SQLITE_BINARY = 'better_sqlite3.node';
const SQLITE_STAMP = 'build.json';

const say = (line) => console.error(`threadline: ${line}`);

function readText(file) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function lastLines(text, count = 3) {
  const lines = String(text ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('at '));
  return lines.slice(-count).join(' / ');
}

/** Where electron's own launcher (node_modules/electron/index.js) looks for the binary. */
function electronBinaryPath(electronDir) {
  const relative = readText(join(electronDir, 'path.txt'));
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron');
  return relative ? join(electronDir, 'dist', relative) : null;
}

function ensureElectron(electronDir) {
  const present = electronBinaryPath(electronDir);
  if (present && existsSync(present)) return present;

  say("Electron's binary is not downloaded yet; downloading it (node node_modules/electron/install.js) ...");
  const download = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: ELECTRON_DOWNLOAD_TIMEOUT_MS,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const downloaded = electronBinaryPath(electronDir);
  if (download.status === 0 && downloaded && existsSync(downloaded)) return downloaded;

  const reason =
    download.error?.code === 'ETIMEDOUT'
      ? `no answer within ${ELECTRON_DOWNLOAD_TIMEOUT_MS / 1000} s`
      : lastLines(download.stderr) || download.error?.message || `the download exited with status ${download.status}`;
  console.error(
    [
      '',
      `Threadline: Electron's binary could not be downloaded on this machine (${reason}),`,
      'so the desktop app cannot open here.',
      '',
      'Run the same dashboard in your browser instead:',
      '  npx threadline serve',
      '',
      "To retry the download: node node_modules/electron/install.js  (behind a firewall, set ELECTRON_MIRROR to a reachable mirror first).",
      '',
    ].join('\n'),
  );
  process.exit(1);
}

/** better-sqlite3 for this Electron, in native/electron/, unless it is there already. */
function ensureElectronSqlite(electronDir) {
  if (process.env.THREADLINE_SQLITE_BINDING) return; // the person provides their own build
  const electronVersion = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8')).version;
  const sqliteDir = dirname(require.resolve('better-sqlite3/package.json'));
  const sqliteVersion = JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')).version;
  const modules = readText(join(electronDir, 'abi_version')) ?? String(require('node-abi').getAbi(electronVersion, 'electron'));
  const wanted = { electron: electronVersion, modules, betterSqlite3: sqliteVersion };
  const stamp = readText(join(SQLITE_DIR, SQLITE_STAMP));
  if (stamp === JSON.stringify(wanted) && existsSync(join(SQLITE_DIR, SQLITE_BINARY))) return;

  say(`getting better-sqlite3 ${sqliteVersion} built for Electron ${electronVersion} (ABI ${modules}) into native/electron/ ...`);
  // A private copy of the package, so node_modules keeps its Node build.
  const work = join(SQLITE_DIR, '.work');
  const copy = join(work, 'node_modules', 'better-sqlite3');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(copy, { recursive: true });
  const nodeBuild = join(sqliteDir, 'build');
  cpSync(sqliteDir, copy, { recursive: true, filter: (source) => source !== nodeBuild && !source.startsWith(nodeBuild + sep) });
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'threadline-native', private: true, dependencies: { 'better-sqlite3': sqliteVersion } }));

  const problems = [];
  const attempts = [
    {
      what: 'prebuilt download',
      command: [require.resolve('prebuild-install/bin.js'), '--runtime', 'electron', '--target', electronVersion, '--arch', process.arch, '--platform', process.platform],
      timeout: PREBUILT_DOWNLOAD_TIMEOUT_MS,
    },
  ];
  // Installed with electron-builder; its package exports only its library, so find the CLI beside it.
  const rebuildMain = resolveOptional('@electron/rebuild');
  const rebuildCli = rebuildMain && join(dirname(rebuildMain), 'cli.js');
  if (rebuildCli) {
    attempts.push({
      what: 'build from source with @electron/rebuild',
      command: [rebuildCli, '--version', electronVersion, '--module-dir', work, '--only', 'better-sqlite3', '--force'],
      timeout: SOURCE_BUILD_TIMEOUT_MS,
    });
  }
  for (const attempt of attempts) {
    const run = spawnSync(process.execPath, attempt.command, { cwd: copy, encoding: 'utf8', timeout: attempt.timeout, stdio: ['ignore', 'pipe', 'pipe'] });
    const built = join(copy, 'build', 'Release', SQLITE_BINARY);
    if (run.status === 0 && existsSync(built)) {
      mkdirSync(SQLITE_DIR, { recursive: true });
      renameSync(built, join(SQLITE_DIR, SQLITE_BINARY));
      writeFileSync(join(SQLITE_DIR, SQLITE_STAMP), JSON.stringify(wanted));
      rmSync(work, { recursive: true, force: true });
      say(`better-sqlite3 for Electron ${electronVersion} is in native/electron/ (${attempt.what})`);
      return;
    }
    const reason = run.error?.code === 'ETIMEDOUT' ? 'timed out' : lastLines(`${run.stdout}\n${run.stderr}`) || `exit status ${run.status}`;
    problems.push(`${attempt.what}: ${reason}`);
  }
  rmSync(work, { recursive: true, force: true });
  say(
    [
      `warning: could not get better-sqlite3 built for Electron ${electronVersion}:`,
      ...problems.map((problem) => `  - ${problem}`),
      '  The desktop window will open, but it cannot open its job store or run SQLite tasks until this succeeds;',
      '  it is tried again on the next "npm start". The CLI and "npx threadline serve" are not affected.',
    ].join('\n'),
  );
}

function resolveOptional(specifier) {
  try {
    return require.resolve(specifier);
  } catch {
    return null;
  }
}

function launch(binary, args) {
  const electronVite = join(dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
  const command = args.dev ? 'dev' : 'preview';
  const child = spawn(process.execPath, [electronVite, command, ...args.rest], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_EXEC_PATH: binary },
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function parseArgs(argv) {
  return { dev: argv.includes('--dev'), rest: argv.filter((arg) => arg !== '--dev') };
}

const args = parseArgs(process.argv.slice(2));
const electronDir = dirname(require.resolve('electron/package.json'));
const binary = ensureElectron(electronDir);
ensureElectronSqlite(electronDir);
launch(binary, args);
