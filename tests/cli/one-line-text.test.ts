/**
 * A job's name, a task's id, an error message or a schedule's name may hold line breaks: inside a
 * line the CLI means as one (a job's heading, a table row, a task's end), they are printed as `\n`
 * and `\r`, tables are measured on the text as printed and cut with an ellipsis, and `--json`
 * keeps the text as stored. A task's stored log lines keep their breaks in `show`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/engine-fixture.js';
import { assertBuilt, expectNoStack, heldScriptTask, jobFile, onTerminal, runBin } from './bin.js';
import { TerminalScreen } from './terminal-screen.js';

beforeAll(assertBuilt);

const NAME = 'a\nb\r\u202e';
const NAME_PRINTED = 'a\\nb\\r\\u202e';
/** Task ids hold no whitespace, but may hold an override, which prints as six characters. */
const ODD_ID = 'odd\u202eid';
const ODD_ID_PRINTED = 'odd\\u202eid';
const LONG_ID = `long-${'x'.repeat(150)}`;
const MESSAGE = 'line one\nline two\rover';
const MESSAGE_PRINTED = 'line one\\nline two\\rover';
const LOGGED = 'first\nsecond\rthird';

function breakingJob(): string {
  const file = jobFile({
    name: NAME,
    tasks: [
      { id: ODD_ID, kind: 'demo.fail', message: MESSAGE, retries: 1, retryBackoffMs: 10 },
      { id: LONG_ID, kind: 'script', module: 'logger.mjs', export: 'run' },
      { id: 'plain', kind: 'script', module: 'logger.mjs', export: 'run' },
    ],
  });
  writeFileSync(join(file, '..', 'logger.mjs'), `export function run(args, ctx) { ctx.log(${JSON.stringify(LOGGED)}, 'warn'); return 'done'; }\n`);
  return file;
}

/** Where each header's column starts, and whether every row has a column boundary (two spaces before text) there. */
function expectAligned(table: string[], headers: string[]): void {
  const [header, rule, ...rows] = table;
  expect(rule).toMatch(/^-+( {2}-+)*$/);
  for (const name of headers.slice(1)) {
    const at = header!.indexOf(name);
    expect(at, name).toBeGreaterThan(0);
    expect(rule!.slice(at - 2, at + 1), name).toBe('  -');
    for (const row of rows) expect(row.slice(at - 2, at), `${name} in ${row}`).toBe('  ');
    for (const row of rows) expect(row[at], `${name} in ${row}`).not.toBe(' ');
  }
}

/** The lines of a table in `text` that starts with `header`. */
function tableAt(text: string, header: string, rows: number): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(header));
  expect(start, header).toBeGreaterThanOrEqual(0);
  return lines.slice(start, start + 2 + rows);
}

describe('user text inside one-line output', () => {
  it('run, show, jobs and rerun print line breaks as escapes on one line; tables stay aligned and cut; --json keeps the text', async () => {
    const dataDir = tempDir();
    const run = await runBin(['run', breakingJob(), '--data-dir', dataDir, '--no-progress', '--workers', '2']);
    expect(run.code).toBe(1);
    expectNoStack(run.stderr);
    const all = run.stdout + run.stderr;
    expect(all).not.toContain('\r');
    // No line of the output starts with what followed a break in the name, the message or the log line.
    expect(all).not.toMatch(/^(b|line two|over|second|third)/m);

    const jobId = /^job (j-\S+) \(/m.exec(run.stdout)?.[1];
    expect(jobId).toBeDefined();
    expect(run.stdout).toMatch(new RegExp(`^job ${jobId} \\(${escape(NAME_PRINTED)}\\): failed$`, 'm'));
    // The plain reporter: a retry, a task's end and a warning, each one line.
    expect(run.stderr).toMatch(new RegExp(`^${escape(ODD_ID_PRINTED)} attempt 1 ended \\(${escape(MESSAGE_PRINTED)}\\); retrying$`, 'm'));
    expect(run.stderr).toMatch(new RegExp(`^${escape(ODD_ID_PRINTED)} failed on \\S+ in [\\d.]+m?s: ${escape(MESSAGE_PRINTED)}$`, 'm'));
    expect(run.stderr).toMatch(/^plain warning: first\\nsecond\\rthird$/m);

    const tasks = tableAt(run.stdout, 'TASK ', 3);
    expectAligned(tasks, ['TASK', 'KIND', 'STATE', 'TRIES', 'TIME', 'WORKER']);
    const longRow = tasks.find((row) => row.startsWith('long-'))!;
    expect(longRow).toMatch(/^long-x+… +script +succeeded/);
    expect(longRow.indexOf('…')).toBe(79);
    expect(tasks.find((row) => row.startsWith(ODD_ID_PRINTED))).toContain(`DEMO_FAILURE: ${MESSAGE_PRINTED}`);
    // The results, one per line, their ids printed as the table prints them.
    expect(run.stdout).toMatch(/^results:\n {2}long-x+ {2}"done"\n {2}plain {27}"done"$/m);

    const json = await runBin(['show', jobId!, '--json', '--data-dir', dataDir]);
    const shown = JSON.parse(json.stdout) as { job: { name: string }; tasks: Array<{ id: string; error: { message: string } | null; logs: Array<{ message: string }> }> };
    expect(shown.job.name).toBe(NAME);
    expect(shown.tasks.map((t) => t.id)).toEqual([ODD_ID, LONG_ID, 'plain']);
    expect(shown.tasks[0]!.error!.message).toBe(MESSAGE);
    expect(shown.tasks[2]!.logs.map((l) => l.message)).toEqual([LOGGED]);

    const show = await runBin(['show', jobId!, '--data-dir', dataDir]);
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain('\r');
    expect(show.stdout).toMatch(new RegExp(`^job ${jobId} \\(${escape(NAME_PRINTED)}\\): failed$`, 'm'));
    expect(show.stdout).toMatch(new RegExp(`^task ${escape(ODD_ID_PRINTED)} \\(demo\\.fail\\): failed$`, 'm'));
    expect(show.stdout).toMatch(new RegExp(`^ {2}error: DEMO_FAILURE: ${escape(MESSAGE_PRINTED)}$`, 'm'));
    expectAligned(tableAt(show.stdout, 'TASK ', 3), ['TASK', 'KIND', 'STATE', 'TRIES', 'TIME', 'WORKER']);
    // A stored log line is the task's own text: its break kept, the next line under the first; the carriage return escaped.
    expect(show.stdout).toMatch(/^ {4}[\d:.]{12} warn {2}first\n {23}second\\rthird$/m);

    // A second job with a 200-character name: the jobs table cuts it, --json has it whole.
    const longName = `n${'y'.repeat(199)}`;
    const second = await runBin(['run', jobFile({ name: longName, tasks: [{ id: 'one', kind: 'demo.sleep', ms: 1 }] }), '--data-dir', dataDir, '--json']);
    expect(second.code).toBe(0);
    const jobs = await runBin(['jobs', '--data-dir', dataDir]);
    expect(jobs.code).toBe(0);
    const listed = tableAt(jobs.stdout, 'JOB ', 2);
    expect(jobs.stdout.split('\n')).toHaveLength(5);
    expectAligned(listed, ['JOB', 'NAME', 'STATE', 'TASKS', 'DONE', 'FAILED', 'CREATED', 'FINISHED']);
    expect(listed.find((row) => row.includes(jobId!))).toContain(`${jobId}  ${NAME_PRINTED} `);
    expect(listed.find((row) => row.includes('nyyy'))).toContain(`n${'y'.repeat(78)}…  succeeded`);
    const jobsJson = JSON.parse((await runBin(['jobs', '--data-dir', dataDir, '--json'])).stdout) as Array<{ name: string }>;
    expect(jobsJson.map((j) => j.name)).toEqual([longName, NAME]);

    const rerun = await runBin(['rerun', jobId!, '--failed', '--data-dir', dataDir, '--workers', '1']);
    expect(rerun.code).toBe(1);
    expect(rerun.stderr).toMatch(new RegExp(`^job j-\\S+ \\(${escape(NAME_PRINTED)}\\): the tasks that did not succeed of ${jobId} again, 1 task$`, 'm'));
    expect(rerun.stdout + rerun.stderr).not.toMatch(/^(b|line two|over)/m);
  });

  it('a backslash of the text prints as \\\\ (run, show, jobs), so that what is printed reads back to one text only', async () => {
    const dataDir = tempDir();
    // Pairs that printed alike: a backslash and an "n" or a line break, the text of an escape or the character.
    const names = ['a\\nb', 'a\nb', '\\u001b[31m', '\u001b[31m', 'C:\\temp\\new', 'ends in \\', '\\\n', '\\\\t\t'];
    const headings: string[] = [];
    for (const name of names) {
      const file = jobFile({ name, tasks: [{ id: 'one', kind: 'script', module: 'logger.mjs', export: 'run' }] });
      writeFileSync(join(file, '..', 'logger.mjs'), `export function run(args, ctx) { ctx.log(${JSON.stringify(`${name}\n${name}`)}, 'warn'); return 1; }\n`);
      const run = await runBin(['run', file, '--data-dir', dataDir, '--no-progress']);
      expect(run.code).toBe(0);
      const heading = /^job (j-\S+) \((.*)\): succeeded$/m.exec(run.stdout);
      expect(heading, run.stdout).not.toBeNull();
      headings.push(heading![2]!);
      // The warning as the run printed it: one line, the break between the two copies escaped.
      expect(run.stderr).toContain(`one warning: ${heading![2]}\\n${heading![2]}\n`);
      // show keeps the log line's breaks, each next line indented; each line reads back the same way, a tab kept as it is.
      const show = await runBin(['show', heading![1]!, '--data-dir', dataDir]);
      const logged = /^ {4}[\d:.]{12} warn {2}(.*(?:\n {23}.*)*)$/m.exec(show.stdout);
      expect(logged, show.stdout).not.toBeNull();
      expect(logged![1]!.split(`\n${' '.repeat(23)}`).map((line) => readBack(line, '\t')).join('\n')).toBe(`${name}\n${name}`);
    }
    expect(headings).toEqual(['a\\\\nb', 'a\\nb', '\\\\u001b[31m', '\\u001b[31m', 'C:\\\\temp\\\\new', 'ends in \\\\', '\\\\\\n', '\\\\\\\\t\\t']);
    expect(headings.map((h) => readBack(h))).toEqual(names);
    expect(new Set(headings).size).toBe(names.length);

    // The jobs table prints each name the same way (newest first).
    const jobs = await runBin(['jobs', '--data-dir', dataDir]);
    expect(tableAt(jobs.stdout, 'JOB ', names.length).slice(2).map((row) => readBack(row.split('  ')[1]!))).toEqual([...names].reverse());
    const json = JSON.parse((await runBin(['jobs', '--data-dir', dataDir, '--json'])).stdout) as Array<{ name: string }>;
    expect(json.map((j) => j.name)).toEqual([...names].reverse());
  }, 180_000); // eighteen processes of the bin one after another: a third of the usual minute when the machine is idle

  it("run's live display draws a running task's message on its one line, and leaves no line of it behind", async () => {
    // The task runs, with its message, until a frame of the display has shown it.
    const held = heldScriptTask(ODD_ID, 'step 1\nnext\rback');
    const file = jobFile({ name: NAME, tasks: [held.task] });
    const drawnLines = (output: string) => new TerminalScreen().write(output.replace(/\r\n/g, '\n')).frames.flat().filter((line) => line.includes(`| ${ODD_ID_PRINTED} (script) step `));
    const { code, output } = await onTerminal(['run', file, '--data-dir', tempDir()], { onOutput: (sofar) => drawnLines(sofar).length > 0 && held.release() });
    expect(code).toBe(0);
    const screen = new TerminalScreen().write(output.replace(/\r\n/g, '\n'));
    const drawn = drawnLines(output);
    expect(drawn.length).toBeGreaterThan(0);
    for (const line of drawn) expect(line).toMatch(/ step \d\\nnext\\rback$/);
    // What the terminal shows at the end: the last summary and the table, no piece of a message.
    expect(screen.lines.filter((line) => /^(next|back)/.test(line))).toEqual([]);
    expect(screen.lines).toContain(`job ${/job (j-\S+) \(/.exec(screen.lines.join('\n'))?.[1]} (${NAME_PRINTED}): succeeded`);
  });

  it('schedule add and list print a name with line breaks on one line; --json keeps it', async () => {
    const dataDir = tempDir();
    const file = jobFile({ name: NAME, schedule: { cron: '0 3 * * *', timezone: 'UTC' }, tasks: [{ id: 'one', kind: 'demo.sleep', ms: 1 }] });
    const added = await runBin(['schedule', 'add', file, '--data-dir', dataDir]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(new RegExp(`^added schedule "${escape(NAME_PRINTED)}" \\(0 3 \\* \\* \\*, UTC\\); next run .*\n$`));
    expect(added.stdout.split('\n')).toHaveLength(2);

    const list = await runBin(['schedule', 'list', '--data-dir', dataDir]);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')).toHaveLength(4);
    expectAligned(tableAt(list.stdout, 'NAME ', 1), ['NAME', 'CRON', 'TIMEZONE', 'STATE', 'NEXT RUN']);
    expect(list.stdout).toContain(`\n${NAME_PRINTED}  0 3 * * *`);
    const json = JSON.parse((await runBin(['schedule', 'list', '--data-dir', dataDir, '--json'])).stdout) as Array<{ name: string }>;
    expect(json.map((s) => s.name)).toEqual([NAME]);

    const removed = await runBin(['schedule', 'remove', NAME, '--data-dir', dataDir]);
    expect(removed).toMatchObject({ code: 0, stdout: `removed schedule "${NAME_PRINTED}" (the jobs it ran stay in the history)\n` });
  });
});


/** The text a one-line print was made from: the CLI's escapes undone; `kept` are the characters printed as they are. */
function readBack(printed: string, kept = ''): string {
  const ESCAPE = /\\(\\|n|r|t|u[0-9a-f]{4})/g;
  // A backslash that begins none of the escapes, or a character a one-line print must not hold, would make it unreadable.
  expect(printed.replace(ESCAPE, '')).not.toContain('\\');
  // eslint-disable-next-line no-control-regex
  expect([...printed].filter((c) => !kept.includes(c)).join('')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  const escapes: Record<string, string> = { '\\': '\\', n: '\n', r: '\r', t: '\t' };
  return printed.replace(ESCAPE, (_, e: string) => escapes[e] ?? String.fromCharCode(parseInt(e.slice(1), 16)));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
