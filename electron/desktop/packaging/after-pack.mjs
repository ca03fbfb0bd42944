/**
 * electron-builder's afterPack hook (electron-builder.yml): the packaged app gets
 * better-sqlite3 built for its Electron, platform and arch, in place of the Node build copied
 * from node_modules. node_modules itself is never rebuilt (npmRebuild: false), so the CLI and
 * the tests keep working after packaging.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildElectronSqlite, electronSqliteWanted, SQLITE_BINARY } from './electron-sqlite-build.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** electron-builder's Arch enum, in Node's names (what prebuilt binaries are named by). */
const NODE_ARCH = ['ia32', 'x64', 'arm', 'arm64'];
const NODE_PLATFORM = { linux: 'linux', darwin: 'darwin', mas: 'darwin', win32: 'win32' };

export async function afterPack(context) {
  const arch = NODE_ARCH[context.arch];
  const platform = NODE_PLATFORM[context.electronPlatformName];
  if (!arch || !platform) {
    throw new Error(`Threadline packaging: no better-sqlite3 build for ${context.electronPlatformName} arch #${context.arch}; package one arch at a time`);
  }
  const electronVersion = context.packager.info?.framework?.version ?? electronSqliteWanted(ROOT).electron;
  const binary = join(context.packager.getResourcesDir(context.appOutDir), 'app.asar.unpacked', 'node_modules', 'better-sqlite3', 'build', 'Release', SQLITE_BINARY);
  if (!existsSync(binary)) {
    throw new Error(`Threadline packaging: ${binary} is missing; better-sqlite3 must be unpacked from asar (asarUnpack in electron-builder.yml)`);
  }
  const result = buildElectronSqlite({ root: ROOT, electronVersion, platform, arch, destination: binary });
  if (!result.ok) {
    throw new Error(
      [`Threadline packaging: could not get better-sqlite3 for Electron ${electronVersion} on ${platform}-${arch}:`, ...result.problems.map((p) => `  - ${p}`)].join('\n'),
    );
  }
  console.log(`  • better-sqlite3 for Electron ${electronVersion} (${platform}-${arch}): ${result.how}`);
}

export default afterPack;
