/**
 * The name of a remote worker machine (`threadline worker --name`): one rule for the worker that
 * takes a name, the orchestrator that hears it announced, and every view that reads a task's
 * worker.
 *
 * A task's worker is one string (`TaskAttempt.worker`): `loop` for the event loop, `w<threadId>`
 * (or the bare id) for a local pool thread, `pool` or `remote` when an executor ended a task
 * before it knew a thread, `<machine>/<thread>` for a remote machine's thread, and the machine
 * alone (`build-07`) for a task that machine refused before any of its threads took it. That last
 * form is told apart from the local ones only because no machine may be named like them, and a
 * `/` in a name would make `<machine>/<thread>` ambiguous: so the rule below.
 */

export const MACHINE_NAME_MAX_CHARS = 100;

/** The names this machine's own executors give a task's worker, compared in any case. */
const LOCAL_WORKER_WORDS = new Set(['loop', 'pool', 'remote']);
/** A local pool thread: `w3`, or its bare id `3` (leading zeros read the same to a person). */
const LOCAL_THREAD = /^w?\d+$/i;
/** The thread part of `<machine>/<thread>`: a pool thread's id, or its executor's word when it knew none. */
const REMOTE_THREAD = /^[A-Za-z0-9._-]{1,100}$/;

/** What a valid name is, for refusals and help texts. */
export const MACHINE_NAME_EXPECTED = `1 to ${MACHINE_NAME_MAX_CHARS} of A-Z a-z 0-9 . _ - other than loop, pool, remote, w<digits> or digits alone (the names of this machine's own workers)`;

/** What is wrong with `name` as a machine's name (`is empty`, `has "/" in it`, ...), or null when it is one. */
export function machineNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  const bad = /[^A-Za-z0-9._-]/u.exec(name);
  if (bad) return `has ${quoted(bad[0])} in it`;
  if (name.length > MACHINE_NAME_MAX_CHARS) return `is ${name.length} characters long`;
  if (LOCAL_WORKER_WORDS.has(name.toLowerCase()) || LOCAL_THREAD.test(name)) return 'would read as a local worker in task records';
  return null;
}

export function isMachineName(name: string): boolean {
  return machineNameProblem(name) === null;
}

/**
 * The machine a task's worker names: `build-07` for `build-07/3` (one of its threads) and for
 * `build-07` (a task it refused before a thread took it); null for this machine's own workers
 * and for anything else.
 */
export function machineOfWorker(worker: string): string | null {
  const slash = worker.indexOf('/');
  const machine = slash < 0 ? worker : worker.slice(0, slash);
  if (slash >= 0 && !REMOTE_THREAD.test(worker.slice(slash + 1))) return null;
  return isMachineName(machine) ? machine : null;
}

/**
 * The one-line refusal of `name` where it was given as `field` (`--name`, a worker's announced
 * name), or null when it is valid: `--name: "w1" would read as a local worker in task records; expected ...`.
 */
export function machineNameRefusal(field: string, name: string): string | null {
  const problem = machineNameProblem(name);
  return problem === null ? null : `${field}: ${shownName(name)} ${problem}; expected ${MACHINE_NAME_EXPECTED}`;
}

/** A name as a one-line message shows it: quoted, and a long one by its start. */
export function shownName(name: string): string {
  const chars = [...name];
  return quoted(chars.length <= 40 ? name : `${chars.slice(0, 40).join('')}…`);
}

/** As JSON, with the line and paragraph separators JSON leaves raw escaped too, so a refusal stays one line. */
function quoted(text: string): string {
  return JSON.stringify(text).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
