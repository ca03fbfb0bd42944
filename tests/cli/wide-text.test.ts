/**
 * Names from job files in any script: a CJK character or an emoji takes two terminal columns, a
 * combining accent none, and one emoji may be several code points joined. Tables (`run`, `show`,
 * `jobs`, `schedule list`) line up their columns on the screen, cut a long cell at 80 columns
 * between graphemes, and the live display cuts its lines at the terminal's width. Columns are
 * measured by Python's wcwidth (terminal-columns.ts), not by the CLI's own library.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipped, displayWidth, fitted, fitToWidth, padToWidth } from '../../electron/cli/display-width.js';
import { tempDir } from '../support/engine-fixture.js';
import { assertBuilt, expectNoStack, heldScriptTask, jobFile, onTerminal, runBin } from './bin.js';
import { expectColumnsAligned, measureColumns } from './terminal-columns.js';
import { TerminalScreen } from './terminal-screen.js';

beforeAll(assertBuilt);

const CJK_NAME = '数据导入';
/** A woman technologist: woman, zero-width joiner, laptop; one grapheme of two columns. */
const TECHNOLOGIST = '👩\u200d💻';
/** Thumbs up with a skin tone modifier: two code points, two columns. */
const THUMBS_UP = '👍🏽';
/** "café" with its accent as a combining mark: five code points, four columns. */
const CAFE = 'cafe\u0301';
const TASK_IDS = [`${TECHNOLOGIST}-build`, CAFE, `数据-${THUMBS_UP}`, 'plain'];

/** Past 80 columns, and where the old cut fell: inside a joined emoji, between a letter and its accent. */
const LONG_EMOJI_NAME = `${'长'.repeat(11)}${TECHNOLOGIST.repeat(35)}`;
const LONG_EMOJI_CUT = `${'长'.repeat(11)}${TECHNOLOGIST.repeat(28)}…`;
const LONG_ACCENT_NAME = 'e\u0301'.repeat(100);
const LONG_ACCENT_CUT = `${'e\u0301'.repeat(79)}…`;
const LONG_CJK_NAME = '长'.repeat(100);
/** 39 characters are 78 columns; a 40th would leave no room for the ellipsis, and is not split. */
const LONG_CJK_CUT = `${'长'.repeat(39)}…`;

/** The lines of a table in `text` that starts with `header`. */
function tableAt(text: string, header: string, rows: number): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(header));
  expect(start, header).toBeGreaterThanOrEqual(0);
  return lines.slice(start, start + 2 + rows);
}

/**
 * Whether `threadline ARGS` loads string-width: every module the process loads is recorded (a
 * module loader hook given by --import), and one holding string-width's code counts, be it the
 * bundle's chunk or the package itself.
 */
async function loadsWidthLibrary(args: string[]): Promise<boolean> {
  const dir = tempDir();
  const record = join(dir, 'loaded.txt');
  writeFileSync(record, '');
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(record)}, url + '\\n'); return next(url, context); }\n`);
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  const result = await runBin(args, { env: { NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}` } });
  expect(result.code, result.stderr).toBe(0);
  const files = readFileSync(record, 'utf8').split('\n').filter((url) => url.startsWith('file:'));
  expect(files.some((url) => url.includes('/threadline.js') || url.includes('/cli/main.js'))).toBe(true);
  return files.some((url) => readFileSync(fileURLToPath(url), 'utf8').includes('RGI_Emoji'));
}

describe('the width of text on a terminal', () => {
  it('is counted per grapheme in columns, and a cut never splits one', () => {
    const samples = [CJK_NAME, TECHNOLOGIST, THUMBS_UP, CAFE, 'plain', LONG_EMOJI_NAME, LONG_ACCENT_NAME];
    expect(samples.map(displayWidth)).toEqual(measureColumns(samples).map((m) => m.width));
    expect(samples.map(displayWidth)).toEqual([8, 2, 2, 4, 5, 92, 100]);

    expect(fitToWidth(LONG_EMOJI_NAME, 80)).toBe(LONG_EMOJI_CUT);
    expect(fitToWidth(LONG_ACCENT_NAME, 80)).toBe(LONG_ACCENT_CUT);
    expect(fitToWidth(LONG_CJK_NAME, 80)).toBe(LONG_CJK_CUT);
    expect(fitToWidth(CJK_NAME, 8)).toBe(CJK_NAME);
    expect(fitToWidth(CJK_NAME, 7)).toBe('数据导…');
    expect(fitToWidth(CJK_NAME, 2)).toBe('…');
    for (const width of [1, 2, 3, 10, 41, 79, 80]) {
      const cuts = [LONG_EMOJI_NAME, LONG_ACCENT_NAME, LONG_CJK_NAME].map((text) => fitToWidth(text, width));
      for (const [i, m] of measureColumns(cuts).entries()) expect(m.width, cuts[i]).toBeLessThanOrEqual(width);
    }

    // The columns a table pads by are those the cut text takes.
    const cut = [LONG_EMOJI_NAME, LONG_ACCENT_NAME, LONG_CJK_NAME, CJK_NAME].map((text) => fitted(text, 80));
    expect(cut.map((c) => c.columns)).toEqual(measureColumns(cut.map((c) => c.text)).map((m) => m.width));

    expect(padToWidth(CJK_NAME, 10)).toBe(`${CJK_NAME}  `);
    expect(padToWidth(CAFE, 6)).toBe(`${CAFE}  `);
    // A cell is the one-line text, cut: the escape of a line break counts as the two characters it prints.
    expect(clipped(`${CJK_NAME}\n${CJK_NAME}`, 13)).toBe('数据导入\\n数…');
    expect(clipped(`${CJK_NAME}\n${CJK_NAME}`, 12)).toBe('数据导入\\n…');
  });

  it('run, show and jobs line up their columns and cut long cells between graphemes; --json keeps the text', async () => {
    const dataDir = tempDir();
    const run = await runBin(['run', jobFile({ name: CJK_NAME, tasks: TASK_IDS.map((id) => ({ id, kind: 'demo.sleep', ms: 1 })) }), '--data-dir', dataDir, '--no-progress', '--workers', '1']);
    expect(run.code).toBe(0);
    expectNoStack(run.stderr);
    expect(run.stdout).toMatch(new RegExp(`^job j-\\S+ \\(${CJK_NAME}\\): succeeded$`, 'm'));
    const tasks = tableAt(run.stdout, 'TASK ', TASK_IDS.length);
    expect(tasks.slice(2).map((row) => row.slice(0, row.indexOf(' ')))).toEqual(TASK_IDS);
    expectColumnsAligned(tasks, ['TASK', 'KIND', 'STATE', 'TRIES', 'TIME', 'WORKER']);
    const jobId = /^job (j-\S+) /m.exec(run.stdout)![1]!;

    for (const name of [LONG_EMOJI_NAME, LONG_ACCENT_NAME, LONG_CJK_NAME]) {
      expect((await runBin(['run', jobFile({ name, tasks: [{ id: 'one', kind: 'demo.sleep', ms: 1 }] }), '--data-dir', dataDir, '--json'])).code).toBe(0);
    }
    const jobs = await runBin(['jobs', '--data-dir', dataDir]);
    expect(jobs.code).toBe(0);
    const listed = tableAt(jobs.stdout, 'JOB ', 4);
    expectColumnsAligned(listed, ['JOB', 'NAME', 'STATE', 'TASKS', 'DONE', 'FAILED', 'CREATED', 'FINISHED']);
    const names = listed.slice(2).map((row) => row.split('  ')[1]);
    expect(names).toEqual([LONG_CJK_CUT, LONG_ACCENT_CUT, LONG_EMOJI_CUT, CJK_NAME]);
    const json = JSON.parse((await runBin(['jobs', '--data-dir', dataDir, '--json'])).stdout) as Array<{ name: string }>;
    expect(json.map((j) => j.name)).toEqual([LONG_CJK_NAME, LONG_ACCENT_NAME, LONG_EMOJI_NAME, CJK_NAME]);

    const show = await runBin(['show', jobId, '--data-dir', dataDir]);
    expect(show.code).toBe(0);
    expectColumnsAligned(tableAt(show.stdout, 'TASK ', TASK_IDS.length), ['TASK', 'KIND', 'STATE', 'TRIES', 'TIME', 'WORKER']);
  });

  it('the results after the table line up by columns', async () => {
    const file = jobFile({ name: 'results', tasks: TASK_IDS.map((id) => ({ id, kind: 'script', module: 'done.mjs', export: 'run' })) });
    writeFileSync(join(file, '..', 'done.mjs'), "export function run() { return 'done'; }\n");
    const run = await runBin(['run', file, '--data-dir', tempDir(), '--no-progress', '--workers', '1']);
    expect(run.code).toBe(0);
    const results = run.stdout.slice(run.stdout.indexOf('\nresults:\n') + 10).trimEnd().split('\n');
    expect(results.map((line) => line.trim().split(' ')[0])).toEqual(TASK_IDS);
    // Each result begins at the same column: two spaces past the widest id (8 columns, the technologist's).
    for (const measured of measureColumns(results)) expect(measured.starts).toEqual([2, 12]);
  });

  it('schedule list lines up a CJK name', async () => {
    const dataDir = tempDir();
    for (const name of [CJK_NAME, 'nightly']) {
      const file = jobFile({ name, schedule: { cron: '0 3 * * *', timezone: 'UTC' }, tasks: [{ id: 'one', kind: 'demo.sleep', ms: 1 }] });
      expect((await runBin(['schedule', 'add', file, '--data-dir', dataDir])).code).toBe(0);
    }
    const list = await runBin(['schedule', 'list', '--data-dir', dataDir]);
    expect(list.code).toBe(0);
    expectColumnsAligned(tableAt(list.stdout, 'NAME ', 2), ['NAME', 'CRON', 'TIMEZONE', 'STATE', 'NEXT RUN']);
  });

  it('is measured by a library loaded only where a table or report is printed, not at a command\'s start', async () => {
    const dataDir = tempDir();
    const file = jobFile({ name: CJK_NAME, tasks: [{ id: 'one', kind: 'demo.sleep', ms: 1 }] });
    expect(await loadsWidthLibrary(['--help'])).toBe(false);
    expect(await loadsWidthLibrary(['run', file, '--data-dir', dataDir, '--json'])).toBe(false);
    const jobId = (JSON.parse((await runBin(['jobs', '--data-dir', dataDir, '--json'])).stdout) as Array<{ id: string }>)[0]!.id;
    expect(await loadsWidthLibrary(['jobs', '--data-dir', dataDir, '--json'])).toBe(false);
    expect(await loadsWidthLibrary(['show', jobId, '--data-dir', dataDir, '--json'])).toBe(false);
    expect(await loadsWidthLibrary(['schedule', 'list', '--data-dir', dataDir, '--json'])).toBe(false);
    // Where a table or a report is printed, it is loaded (and seen by this check).
    expect(await loadsWidthLibrary(['jobs', '--data-dir', dataDir])).toBe(true);
    expect(await loadsWidthLibrary(['show', jobId, '--data-dir', dataDir])).toBe(true);
    expect(await loadsWidthLibrary(['run', file, '--data-dir', dataDir, '--no-progress'])).toBe(true);
  });

  it("run's live display cuts a wide task's line at the terminal's width, between graphemes", async () => {
    const id = `${'数据'.repeat(15)}${TECHNOLOGIST}`;
    // The task runs, with its message, until a frame of the display has shown it.
    const held = heldScriptTask(id, `第1步 ${'导入'.repeat(40)}`);
    const file = jobFile({ name: CJK_NAME, tasks: [held.task] });
    const drawnLines = (output: string) => new TerminalScreen().write(output.replace(/\r\n/g, '\n')).frames.flat().filter((line) => line.includes('| 数据数据'));
    const { code, output } = await onTerminal(['run', file, '--data-dir', tempDir()], { onOutput: (sofar) => drawnLines(sofar).length > 0 && held.release() });
    expect(code).toBe(0);
    const drawn = drawnLines(output);
    expect(drawn.length).toBeGreaterThan(0);
    // The pseudo-terminal reports no size, so the display assumes 80 columns and keeps one free.
    for (const [i, measured] of measureColumns(drawn).entries()) {
      expect(measured.width, drawn[i]).toBeLessThanOrEqual(79);
      expect(drawn[i]).toMatch(/…$/);
    }
  });
});
