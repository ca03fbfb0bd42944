import { demoKinds } from './demo.js';
import { fileKinds } from './files.js';
import { httpFetch } from './http.js';
import type { z } from 'zod';
import type { KindExecutor } from '../task-states.js';
import type { KindSpec } from './kind-spec.js';
import { script } from './script.js';
import { sqlKinds } from './sql.js';

const ALL_KINDS = [...sqlKinds, ...fileKinds, script, httpFetch, ...demoKinds];

/** Every kind a job file may name, in the order help and docs list them. */
export const KINDS: readonly KindSpec[] = ALL_KINDS;

type AnyKind = (typeof ALL_KINDS)[number];
export type KindName = AnyKind['name'];
/** The kinds that run on one executor: a handler map keyed by these misses none. */
export type KindNameOn<Executor extends KindExecutor> = Extract<AnyKind, { executor: Executor }>['name'];
/** A kind's input, as validated by its schema. */
export type KindInput<Name extends KindName> = z.infer<Extract<AnyKind, { name: Name }>['input']>;

const byName = new Map(KINDS.map((kind) => [kind.name, kind]));

export function findKind(name: string): KindSpec | undefined {
  return byName.get(name);
}

export function kindNames(): string[] {
  return [...byName.keys()];
}

export type { KindSpec, PathResolver } from './kind-spec.js';
