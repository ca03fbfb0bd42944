/**
 * The built desktop app (`out/main/index.js` from `npm run build`) in a process of its own,
 * with the electron stand-in as its `electron` module (Electron's binary cannot be had here):
 * a Node module hook resolves `electron` to the stand-in, compiled from its TypeScript, and the
 * stand-in's `app.exit` ends the process as Electron's would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { finished, type BinResult } from '../cli/bin.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { provideSqliteBuild } from './sqlite-build.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Writes into `dir` the hook and the entry that load the main bundle at `mainBundle`; returns the entry's path. */
export function prepareAppLauncher(mainBundle: string, dir: string): string {
  const standIn = ts.transpileModule(readFileSync(join(HERE, 'electron-stand-in.ts'), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(dir, 'electron-stand-in.mjs'), standIn);
  writeFileSync(
    join(dir, 'electron-hook.mjs'),
    `const standIn = ${JSON.stringify(pathToFileURL(join(dir, 'electron-stand-in.mjs')).href)};
export async function resolve(specifier, context, next) {
  return specifier === 'electron' ? { url: standIn, shortCircuit: true } : next(specifier, context);
}
`,
  );
  writeFileSync(
    join(dir, 'launch.mjs'),
    `import { register } from 'node:module';
register('./electron-hook.mjs', import.meta.url);
const { app } = await import('electron');
app.appPath = process.env.THREADLINE_TEST_APP_PATH;
// Electron's app.exit ends the process; the stand-in only records it.
app.onExit = (code) => process.exit(code);
await import(${JSON.stringify(pathToFileURL(mainBundle).href)});
`,
  );
  return join(dir, 'launch.mjs');
}

export interface AppProcess {
  child: ChildProcess;
  exited: Promise<BinResult>;
}

/** Launches the app on `dataDir` (and the settings under `configHome`); it is killed after the test if still running. */
export function launchApp(launcher: string, dataDir: string, configHome = tempDir('threadline-desktop-config-')): AppProcess {
  const appPath = tempDir('threadline-desktop-app-');
  provideSqliteBuild(appPath);
  // The app finds its better-sqlite3 build itself, and loads its built pages, as when launched.
  const inherited = Object.entries(process.env).filter(([name]) => name !== 'THREADLINE_SQLITE_BINDING' && name !== 'ELECTRON_RENDERER_URL');
  const env = { ...Object.fromEntries(inherited), XDG_CONFIG_HOME: configHome, THREADLINE_DATA_DIR: dataDir, THREADLINE_TEST_APP_PATH: appPath };
  const child = spawn(process.execPath, [launcher], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exited: finished(child) };
}
