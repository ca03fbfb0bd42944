/**
 * The job file format: a named batch of tasks. Pure (no I/O), so the renderer can validate a
 * dropped file with the same rules the CLI uses.
 */
import { parse as parseJsonTolerantly, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { YAMLError } from 'yaml';
import { z } from 'zod';
import { MAX_NESTING_DEPTH, TOO_DEEP } from '../shared/nesting.js';
import { findKind, KINDS, kindNames, type KindSpec } from './kinds/index.js';
import { scheduleSchema, type ScheduleSpec } from './schedule.js';
import { FAILURE_POLICIES, type FailurePolicy } from './task-states.js';
import { readYamlStrictly } from './yaml-text.js';

export const taskBaseSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s:]+$/, 'expected an id without spaces or colons'),
  kind: z.string(),
  priority: z.number().int().min(-1000).max(1000).default(0),
  timeoutMs: z.number().int().positive().optional(),
  retries: z.number().int().min(0).max(100).default(0),
  retryBackoffMs: z.number().int().min(0).max(3_600_000).default(500),
  dependsOn: z.array(z.string()).default([]),
  /** `local` keeps a sync task on the orchestrator's own pool, off remote workers (for paths only it has). */
  runOn: z.enum(['anywhere', 'local']).optional(),
});

export const jobHeaderSchema = z.object({
  name: z.string().min(1).max(200),
  concurrency: z.number().int().positive().optional(),
  onFailure: z.enum(FAILURE_POLICIES).default('continue'),
  /** When the job runs by itself (`threadline schedule add`); ignored by `threadline run`. */
  schedule: scheduleSchema.optional(),
  // Each task is checked on its own (parseTask): the header does not copy a million of them first.
  tasks: z.array(z.unknown()).min(1, 'expected at least one task'),
});

/** What every task must be before its fields are looked at. */
const taskObjectSchema = z.looseObject({});

export type TaskBase = z.infer<typeof taskBaseSchema>;

export interface TaskSpec extends TaskBase {
  /** The kind's own fields, validated by its schema. */
  input: Record<string, unknown>;
}

export interface JobSpec {
  name: string;
  concurrency?: number;
  onFailure: FailurePolicy;
  schedule?: ScheduleSpec;
  tasks: TaskSpec[];
}

export interface SpecIssue {
  /** Where in the document, e.g. `tasks[2].dependsOn[0]`; empty for the whole document. */
  path: string;
  message: string;
}

export type SpecResult = { ok: true; spec: JobSpec } | { ok: false; issues: SpecIssue[] };

/** User text in a message: quoted and escaped, so a message stays one line. */
function quote(text: string): string {
  return JSON.stringify(text);
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function issuesOf(error: z.ZodError, prefix: readonly PropertyKey[] = []): SpecIssue[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: describeIssue(issue),
  }));
}

/** One issue as one line: user text quoted, zod's wording trimmed. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(quote).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `missing; expected ${issue.expected}`;
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
    const op = issue.code === 'too_small' ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
    if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
      return `expected a number ${op} ${String(bound)}, got ${JSON.stringify(issue.input)}`;
    }
  }
  return issue.message.replace(/^Invalid input: /, '');
}

/** Validates an already-parsed document. Reports the first problem found in each task. */
export function validateJobSpec(document: unknown): SpecResult {
  const header = jobHeaderSchema.safeParse(document, { reportInput: true });
  if (!header.success) return { ok: false, issues: issuesOf(header.error) };
  const issues: SpecIssue[] = [];
  const tasks: TaskSpec[] = [];
  header.data.tasks.forEach((raw, index) => {
    const task = parseTask(raw, index);
    if ('issues' in task) issues.push(...task.issues);
    else tasks.push(task);
  });
  if (issues.length === 0) issues.push(...checkGraph(tasks));
  if (issues.length > 0) return { ok: false, issues };
  const { name, concurrency, onFailure, schedule } = header.data;
  return { ok: true, spec: { name, ...(concurrency === undefined ? {} : { concurrency }), onFailure, ...(schedule === undefined ? {} : { schedule }), tasks } };
}

const strictInputs = new Map<KindSpec, z.ZodObject>();

/** The kind's fields with unknown ones refused (a typo'd field must not pass silently). */
function strictInput(kind: KindSpec): z.ZodObject {
  let schema = strictInputs.get(kind);
  if (!schema) strictInputs.set(kind, (schema = z.strictObject(kind.input.shape)));
  return schema;
}

const strictTasks = new Map<KindSpec, z.ZodObject | null>();

/**
 * A task of the kind, base fields and the kind's own in one strict object: one parse per task
 * instead of two. Null for a kind with a field of the same name as a base field.
 */
function strictTask(kind: KindSpec): z.ZodObject | null {
  let schema = strictTasks.get(kind);
  if (schema === undefined) {
    const clash = Object.keys(kind.input.shape).some((field) => Object.hasOwn(taskBaseSchema.shape, field));
    strictTasks.set(kind, (schema = clash ? null : z.strictObject({ ...taskBaseSchema.shape, ...kind.input.shape })));
  }
  return schema;
}

function isTaskObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}

function parseTask(raw: unknown, index: number): TaskSpec | { issues: SpecIssue[] } {
  const at = ['tasks', index];
  if (!isTaskObject(raw)) return { issues: issuesOf(taskObjectSchema.safeParse(raw, { reportInput: true }).error!, at) };
  const kind = typeof raw.kind === 'string' ? findKind(raw.kind) : undefined;
  const schema = kind && strictTask(kind);
  if (schema) {
    // The common case, a valid task of a known kind. A task that fails is parsed again below,
    // for the same issues as always: its base fields' first, then its kind's.
    const parsed = schema.safeParse(raw);
    if (parsed.success) return splitTask(parsed.data, kind.input.shape);
  }
  return parseTaskInTwo(raw, at);
}

/** A task parsed as one object: its base fields, with the kind's own under `input`. */
function splitTask(parsed: Record<string, unknown>, inputShape: Record<string, unknown>): TaskSpec {
  const task: Record<string, unknown> = {};
  const input: Record<string, unknown> = {};
  for (const field in parsed) {
    if (Object.hasOwn(inputShape, field)) input[field] = parsed[field];
    else task[field] = parsed[field];
  }
  task.input = input;
  return task as unknown as TaskSpec;
}

/** The base fields, then the kind's own: the issues of the first part that has any. */
function parseTaskInTwo(raw: Record<string, unknown>, at: readonly PropertyKey[]): TaskSpec | { issues: SpecIssue[] } {
  const base = taskBaseSchema.safeParse(raw, { reportInput: true });
  if (!base.success) return { issues: issuesOf(base.error, at) };
  const kind = findKind(base.data.kind);
  if (!kind) {
    return {
      issues: [{ path: formatPath([...at, 'kind']), message: `unknown kind ${quote(base.data.kind)}; expected one of ${kindNames().join(', ')}` }],
    };
  }
  // A job may hold a million tasks: no pairs of `Object.entries` and no copy of the parsed base per task.
  const own: Record<string, unknown> = {};
  for (const field of Object.keys(raw)) if (!(field in taskBaseSchema.shape)) own[field] = raw[field];
  const input = strictInput(kind).safeParse(own, { reportInput: true });
  if (!input.success) return { issues: issuesOf(input.error, at) };
  const task = base.data as TaskSpec; // zod's own copy, not the document's object
  task.input = input.data;
  return task;
}

function checkGraph(tasks: TaskSpec[]): SpecIssue[] {
  const indexById = new Map<string, number>();
  const issues: SpecIssue[] = [];
  tasks.forEach((task, index) => {
    const first = indexById.get(task.id);
    if (first !== undefined) issues.push({ path: `tasks[${index}].id`, message: `duplicate id ${quote(task.id)} (also tasks[${first}])` });
    else indexById.set(task.id, index);
  });
  tasks.forEach((task, index) => {
    task.dependsOn.forEach((dep, d) => {
      if (!indexById.has(dep)) issues.push({ path: `tasks[${index}].dependsOn[${d}]`, message: `unknown task id ${quote(dep)}` });
      else if (dep === task.id) issues.push({ path: `tasks[${index}].dependsOn[${d}]`, message: 'a task cannot depend on itself' });
    });
  });
  if (issues.length > 0) return issues;
  const cycle = findCycle(tasks, indexById);
  if (cycle) issues.push({ path: `tasks[${indexById.get(cycle[0]!)}].dependsOn`, message: `dependency cycle: ${cycle.join(' -> ')}` });
  return issues;
}

/** Iterative depth-first search (job files may hold 100,000 tasks in one chain). */
function findCycle(tasks: TaskSpec[], indexById: Map<string, number>): string[] | null {
  const state = new Uint8Array(tasks.length); // 0 new, 1 on the stack, 2 done
  for (let root = 0; root < tasks.length; root++) {
    if (state[root] !== 0) continue;
    const stack: Array<{ node: number; next: number }> = [{ node: root, next: 0 }];
    state[root] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = tasks[top.node]!.dependsOn;
      if (top.next === deps.length) {
        state[top.node] = 2;
        stack.pop();
        continue;
      }
      const child = indexById.get(deps[top.next++]!)!;
      if (state[child] === 1) {
        const from = stack.findIndex((frame) => frame.node === child);
        return [...stack.slice(from).map((frame) => tasks[frame.node]!.id), tasks[child]!.id];
      }
      if (state[child] === 0) {
        state[child] = 1;
        stack.push({ node: child, next: 0 });
      }
    }
  }
  return null;
}

/** Parses JSON or YAML text (by file name, else by content) into a document. */
export function parseJobText(text: string, fileName: string): { ok: true; document: unknown } | { ok: false; issue: SpecIssue } {
  const json = /\.json$/i.test(fileName) || (!/\.ya?ml$/i.test(fileName) && /^\s*[{[]/.test(text));
  try {
    if (json) return { ok: true, document: JSON.parse(text) };
    const read = readYamlStrictly(text, MAX_NESTING_DEPTH);
    return read.ok ? { ok: true, document: read.value } : { ok: false, issue: { path: read.tooDeepAt.replace(/^\./, ''), message: TOO_DEEP } };
  } catch (error) {
    return { ok: false, issue: { path: '', message: json ? describeJsonError(text, error) : describeYamlError(error) } };
  }
}

/** yaml's message repeats the position and ends in a colon before its excerpt: one clean line instead. */
function describeYamlError(error: unknown): string {
  const where = error instanceof YAMLError && error.linePos ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
  const first = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  return `not valid YAML${where}: ${first.replace(/ at line \d+, column \d+:?\s*$/, '').replace(/:\s*$/, '')}`;
}

/** By jsonc-parser's error names (its codes are a const enum, out of reach here). */
const JSON_PROBLEMS: Record<string, string> = {
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected a colon',
  CommaExpected: 'expected a comma',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'comments are not allowed in JSON',
  UnexpectedEndOfString: 'unterminated string (or a line break in it)',
  UnexpectedEndOfNumber: 'invalid number',
  InvalidUnicode: 'invalid \\u escape',
  InvalidEscapeCharacter: 'invalid escape',
  InvalidCharacter: 'invalid character in a string',
};

/** JSON.parse names no line in Node 20: a second, tolerant parser finds where the text goes wrong. */
function describeJsonError(text: string, error: unknown): string {
  const errors: ParseError[] = [];
  parseJsonTolerantly(text, errors, { allowTrailingComma: false, disallowComments: true, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return `not valid JSON: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]!}`;
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const column = first.offset - before.lastIndexOf('\n');
  const name = printParseErrorCode(first.error);
  const problem = name === 'InvalidSymbol' ? `unexpected ${JSON.stringify(text.slice(first.offset, first.offset + Math.max(1, first.length)).slice(0, 20))}` : (JSON_PROBLEMS[name] ?? name);
  return `not valid JSON at line ${line}, column ${column}: ${problem}`;
}

/** The JSON Schema of the job file format, for editors and docs. */
export function jobFileJsonSchema(): unknown {
  const taskVariants = KINDS.map((kind) =>
    z.strictObject({ ...taskBaseSchema.shape, kind: z.literal(kind.name), ...kind.input.shape }).describe(kind.summary),
  );
  const job = jobHeaderSchema.extend({
    tasks: z.array(z.discriminatedUnion('kind', taskVariants as unknown as [z.ZodObject, ...z.ZodObject[]])).min(1),
  });
  return z.toJSONSchema(job, { io: 'input', unrepresentable: 'any' });
}
