import { demoKinds } from './demo.js';
import { fileKinds } from './files.js';
import { httpFetch } from './http.js';
import type { KindSpec } from './kind-spec.js';
import { script } from './script.js';
import { sqlKinds } from './sql.js';

/** Every kind a job file may name, in the order help and docs list them. */
export const KINDS: readonly KindSpec[] = [...sqlKinds, ...fileKinds, script, httpFetch, ...demoKinds];

const byName = new Map(KINDS.map((kind) => [kind.name, kind]));

export function findKind(name: string): KindSpec | undefined {
  return byName.get(name);
}

export function kindNames(): string[] {
  return [...byName.keys()];
}

export type { KindSpec, PathResolver } from './kind-spec.js';
