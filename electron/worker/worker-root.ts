import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { globSync } from 'tinyglobby';
import type { PathResolver } from '../../contract/kinds/kind-spec.js';
import { findKind, type KindSpec } from '../../contract/kinds/index.js';
import { isGlobPattern } from '../../contract/kinds/path-list.js';

/** A task this worker will not run: its kind is not one it offers, or a path leaves its root. */
export class RefusedTask extends Error {
  constructor(
    readonly code: 'KIND_NOT_OFFERED' | 'PATH_OUTSIDE_ROOT',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The folder a worker's tasks may touch. Tasks arrive with the paths the orchestrator resolved
 * (absolute: the same tree mounted at the same place on every machine); a relative one resolves
 * against the root. A path that leads outside it, by `..` or by a symbolic link, is refused: the
 * Redis server is a trust boundary, and whoever can write to it must not reach the rest of the disk.
 */
export class WorkerRoot {
  readonly dir: string;
  private readonly real: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.real = realpathSync(this.dir);
  }

  /**
   * The input of a task of `kindName` with its paths checked and resolved here. Only built-in
   * kinds that run on a pool are run; `script` modules are paths like any other, so under the root.
   */
  confine(kindName: string, input: Record<string, unknown>): Record<string, unknown> {
    const kind = findKind(kindName);
    if (!kind || kind.executor !== 'pool') throw new RefusedTask('KIND_NOT_OFFERED', `this worker runs only the built-in pool kinds; "${kindName}" is not one`);
    return this.confineInput(kind, input);
  }

  private confineInput(kind: KindSpec, input: Record<string, unknown>): Record<string, unknown> {
    const parsed = kind.input.safeParse(input);
    // A malformed input is the handler's to report, as it would be on the orchestrator's own pool.
    if (!parsed.success || !kind.resolvePaths) return input;
    return kind.resolvePaths(parsed.data as never, this.resolver()) as Record<string, unknown>;
  }

  private resolver(): PathResolver {
    return {
      file: (path) => this.file(path),
      glob: (pattern) => (isGlobPattern(pattern) ? this.glob(pattern) : this.file(pattern)),
    };
  }

  private file(path: string): string {
    const absolute = isAbsolute(path) ? resolve(path) : resolve(this.dir, path);
    if (!within(this.dir, absolute) || !within(this.real, realOfNearest(absolute))) throw outside(path, this.dir);
    return absolute;
  }

  private glob(pattern: string): string {
    const slashes = pattern.replaceAll('\\', '/');
    const parts = slashes.split('/');
    if (parts.includes('..')) throw outside(pattern, this.dir);
    const firstGlob = parts.findIndex((part) => isGlobPattern(part));
    // The folder before the first wildcard, its escapes undone, decides where the pattern may reach.
    const fixed = parts.slice(0, firstGlob).join('/').replace(/\\(.)/g, '$1') || '/';
    const base = isAbsolute(fixed) ? resolve(fixed) : resolve(this.dir, fixed);
    if (!within(this.dir, base) || !within(this.real, realOfNearest(base))) throw outside(pattern, this.dir);
    const absolute = isAbsolute(pattern) ? pattern : `${this.dir.replaceAll('\\', '/')}/${pattern}`;
    this.checkMatches(pattern, absolute);
    return absolute;
  }

  /**
   * A pattern whose folder is inside the root can still match, through a symbolic link to a file
   * or a folder, something outside it: every match is checked by its real path, as the task's
   * thread will expand it (tinyglobby follows links). A link made between this check and the
   * thread's own expansion is not seen: whoever can write links into the root can also write
   * the script a `script` task runs, so the root does not guard against them.
   */
  private checkMatches(pattern: string, absolute: string): void {
    for (const match of globSync(absolute, { absolute: true, onlyFiles: true, expandDirectories: false })) {
      let real: string;
      try {
        real = realpathSync(match);
      } catch {
        continue; // a dangling link: the handler reports it as missing
      }
      if (!within(this.real, real)) throw outside(pattern, this.dir, match);
    }
  }
}

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The real path of `path`, or of its nearest existing ancestor (an output file does not exist yet). */
function realOfNearest(path: string): string {
  let at = path;
  for (;;) {
    try {
      return resolve(realpathSync(at), relative(at, path));
    } catch {
      const up = dirname(at);
      if (up === at) return path;
      at = up;
    }
  }
}

function outside(path: string, root: string, match?: string): RefusedTask {
  const what = match === undefined ? `the path ${JSON.stringify(path)} is` : `the pattern ${JSON.stringify(path)} matches ${match}, which is`;
  return new RefusedTask('PATH_OUTSIDE_ROOT', `${what} outside this worker's root ${root} (--root); it is not read or written here`);
}
