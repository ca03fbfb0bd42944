// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiCallError } from '../../contract/api';
import type { ThreadlineApi } from '../../contract/api';
import { DashboardContext } from '../../renderer/src/app/dashboard-context';
import { NoticesProvider } from '../../renderer/src/app/notices';
import { NewWorkPanel } from '../../renderer/src/new-work/NewWorkPanel';
import { DashboardStore } from '../../renderer/src/store/dashboard-store';
import { RecordingApi, RecordingDesktopApi } from './recording-api';
import { manualFrames } from './records';
import './dom-waits';

afterEach(() => cleanup());

function mount(api: RecordingApi = new RecordingApi()) {
  const store = new DashboardStore({ onGap: () => {}, schedule: manualFrames().schedule });
  render(
    <DashboardContext.Provider value={{ api: api as ThreadlineApi, store }}>
      <NoticesProvider>
        <NewWorkPanel />
      </NoticesProvider>
    </DashboardContext.Provider>,
  );
  return api;
}

const field = (path: string) => document.querySelector<HTMLElement>(`[data-field-path="${path}"]`)!;
const control = (path: string) => field(path).querySelector<HTMLInputElement & HTMLTextAreaElement & HTMLSelectElement>('input, textarea, select')!;
const set = (path: string, value: string) => fireEvent.change(control(path), { target: { value } });
const errorAt = (path: string) => within(field(path)).queryByRole('alert')?.textContent ?? null;
const submitted = (api: RecordingApi) => api.callsOf('submitJob') as Array<{ text: string; fileName: string; baseDir?: string }>;

async function dropFile(name: string, text: string): Promise<void> {
  const input = document.querySelector<HTMLInputElement>('input[type=file]')!;
  await act(async () => {
    fireEvent.change(input, { target: { files: [new File([text], name)] } });
  });
}

describe('SQL query form', () => {
  it('offers the SQL kinds of the contract and submits a one-task job with the fields given', async () => {
    const api = mount();
    const form = screen.getByRole('form', { name: 'SQL query' });
    const kinds = [...control('tasks[0].kind').options].map((o) => o.value);
    expect(kinds).toEqual(expect.arrayContaining(['sql.query', 'sql.exec', 'csv.import']));
    set('tasks[0].db', 'data/chinook.sqlite');
    set('tasks[0].sql', 'SELECT Name FROM Artist LIMIT 3');
    set('tasks[0].output.path', 'out/artists.csv');
    fireEvent.click(within(form).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(submitted(api)).toHaveLength(1));
    const { text, fileName } = submitted(api)[0]!;
    expect(fileName).toBe('SQL query.json');
    expect(JSON.parse(text)).toEqual({
      name: 'SQL query',
      tasks: [{ id: 'query', kind: 'sql.query', db: 'data/chinook.sqlite', sql: 'SELECT Name FROM Artist LIMIT 3', output: { path: 'out/artists.csv' } }],
    });
    await waitFor(() => expect(screen.getByText(/SQL query: job submitted \(j-new\) started/)).toBeTruthy());
  });

  it('shows problems at their fields before asking the host', async () => {
    const api = mount();
    const form = screen.getByRole('form', { name: 'SQL query' });
    set('tasks[0].sql', '   ');
    set('tasks[0].params', '[1, 2');
    set('tasks[0].output.format', 'json');
    fireEvent.click(within(form).getByRole('button', { name: 'Start' }));
    // Every problem at once: what the form cannot read, and what the job schema refuses.
    await waitFor(() => expect(errorAt('tasks[0].params')).toMatch(/^not valid JSON/));
    expect(errorAt('tasks[0].db')).toBe('expected a path');
    set('tasks[0].params', '[1, 2]');
    fireEvent.click(within(form).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(errorAt('tasks[0].sql')).toBe('expected SQL text'));
    expect(errorAt('tasks[0].db')).toBe('expected a path');
    expect(errorAt('tasks[0].output.path')).toBe('expected a path');
    expect(control('tasks[0].sql').getAttribute('aria-invalid')).toBe('true');
    expect(submitted(api)).toHaveLength(0);
  });

  it('shows the host’s issues at their fields, and a failed call as a form error', async () => {
    const api = new RecordingApi();
    api.answers.submitJob = () => ({ ok: false, issues: [{ path: 'tasks[0].db', message: 'no such database file' }] });
    mount(api);
    const form = screen.getByRole('form', { name: 'SQL query' });
    set('tasks[0].db', 'missing.sqlite');
    set('tasks[0].sql', 'SELECT 1');
    fireEvent.click(within(form).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(errorAt('tasks[0].db')).toBe('no such database file'));
    api.answers.submitJob = () => Promise.reject(new ApiCallError({ code: 'ENGINE_CLOSED', message: 'the engine is shutting down' }));
    fireEvent.click(within(form).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(within(form).getByText('the engine is shutting down')).toBeTruthy());
  });

  it('changes its fields with the statement kind', () => {
    mount();
    fireEvent.change(control('tasks[0].kind'), { target: { value: 'csv.import' } });
    expect(field('tasks[0].table')).toBeTruthy();
    expect(control('tasks[0].batchSize').value).toBe('5000');
    expect(control('tasks[0].ifExists').value).toBe('append');
    expect(document.querySelector('[data-field-path="tasks[0].output.path"]')).toBeNull();
  });

  it('fills the database path from the desktop picker', async () => {
    const api = mount(new RecordingDesktopApi());
    fireEvent.click(within(field('tasks[0].db')).getByRole('button', { name: 'Choose…' }));
    await waitFor(() => expect(control('tasks[0].db').value).toBe('/home/me/chinook.sqlite'));
    expect(api.callsOf('pickDatabase')).toHaveLength(1);
  });
});

describe('File task form', () => {
  it('takes an operation and paths or globs, one per line', async () => {
    const api = mount();
    fireEvent.click(screen.getByRole('tab', { name: 'File task' }));
    const form = screen.getByRole('form', { name: 'File task' });
    fireEvent.change(control('tasks[0].kind'), { target: { value: 'file.hash' } });
    set('tasks[0].paths', 'data/a.csv\n\n  logs/**/*.log  ');
    fireEvent.click(within(form).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(submitted(api)).toHaveLength(1));
    expect(JSON.parse(submitted(api)[0]!.text).tasks[0]).toEqual({ id: 'hash', kind: 'file.hash', paths: ['data/a.csv', 'logs/**/*.log'], algorithm: 'sha256' });
  });

  it('refuses an empty path list at its field', async () => {
    const api = mount();
    fireEvent.click(screen.getByRole('tab', { name: 'File task' }));
    fireEvent.click(within(screen.getByRole('form', { name: 'File task' })).getByRole('button', { name: 'Start' }));
    await waitFor(() => expect(errorAt('tasks[0].paths')).toMatch(/missing; expected array/));
    expect(submitted(api)).toHaveLength(0);
  });

  it('appends picked files to the list on the desktop', async () => {
    mount(new RecordingDesktopApi());
    fireEvent.click(screen.getByRole('tab', { name: 'File task' }));
    set('tasks[0].paths', 'first.txt');
    fireEvent.click(within(field('tasks[0].paths')).getByRole('button', { name: 'Choose…' }));
    await waitFor(() => expect(control('tasks[0].paths').value).toBe('first.txt\n/data/a.csv\n/data/b.csv'));
  });
});

describe('Job file', () => {
  const open = () => fireEvent.click(screen.getByRole('tab', { name: 'Job file' }));

  it('shows a file that is not JSON at the document, with its line', async () => {
    mount();
    open();
    await dropFile('broken.json', '{"name": "x",\n "tasks": [}');
    const problem = document.querySelector('[data-issue-path=""]');
    expect(problem?.textContent).toMatch(/^not valid JSON/);
    expect(screen.getByRole('button', { name: 'Run job' }).hasAttribute('disabled')).toBe(true);
  });

  it('shows YAML nested past the limit at the path that leads there, not as a stack overflow', async () => {
    mount();
    open();
    await dropFile('deep.yaml', `name: deep\ntasks:\n  - id: a\n    kind: demo.echo\n    value: ${'['.repeat(3000)}1${']'.repeat(3000)}\n`);
    const problem = document.querySelector('[data-issue-path=""]');
    expect(problem?.textContent).toBe('tasks[0].value[0][0]: nests arrays and objects more than 512 levels deep; the limit is 512');
    expect(screen.getByRole('button', { name: 'Run job' }).hasAttribute('disabled')).toBe(true);
  });

  it('shows each problem at its field, missing fields included', async () => {
    mount();
    open();
    const yaml = ['name: nightly', 'tasks:', '  - id: a', '    kind: demo.cpu', '    ms: fast', '  - kind: demo.sleep', '    ms: 5', '  - id: c', '    kind: demo.echo', '    dependsOn: [zzz]'].join('\n');
    await dropFile('nightly.yaml', yaml);
    expect(errorAt('tasks[0].ms')).toMatch(/expected number, received string/);
    expect(field('tasks[0].ms').getAttribute('aria-invalid')).toBe('true');
    expect(errorAt('tasks[1].id')).toMatch(/missing; expected string/);
    expect(field('tasks[1].id').textContent).toMatch(/\(missing\)/);
    expect(field('tasks[0].kind').getAttribute('aria-invalid')).toBe('false');
    expect(screen.getByTestId('job-file-summary').textContent).toBe('nightly.yaml · 3 tasks · 2 problems');
  });

  it('shows dependency problems once the tasks themselves are right', async () => {
    mount();
    open();
    await dropFile('deps.json', JSON.stringify({ name: 'd', tasks: [{ id: 'a', kind: 'demo.echo', dependsOn: ['zzz'] }] }));
    expect(errorAt('tasks[0].dependsOn')).toBe('[0]: unknown task id "zzz"');
  });

  it('lists a big file by its problems, not its size', async () => {
    mount();
    open();
    const tasks = Array.from({ length: 1000 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo' }));
    tasks[500] = { id: 't500', kind: 'demo.nope' };
    await dropFile('big.json', JSON.stringify({ name: 'big', tasks }));
    expect(errorAt('tasks[500].kind')).toMatch(/unknown kind "demo.nope"/);
    expect(document.querySelectorAll('.outline-task')).toHaveLength(9);
    expect(screen.getByText('… 492 more tasks without problems')).toBeTruthy();
    expect(screen.getByText('… 499 more tasks without problems')).toBeTruthy();
  });

  it('submits a valid file as it is, and shows the host’s issues at their fields', async () => {
    const api = new RecordingApi();
    api.answers.submitJob = () => ({ ok: false, issues: [{ path: 'tasks[0].ms', message: 'too big for this host' }] });
    mount(api);
    open();
    const text = JSON.stringify({ name: 'ok', tasks: [{ id: 'a', kind: 'demo.cpu', ms: 10 }] });
    await dropFile('ok.json', text);
    expect(screen.getByTestId('job-file-summary').textContent).toBe('ok.json · 1 task · valid');
    fireEvent.click(screen.getByRole('button', { name: 'Run job' }));
    await waitFor(() => expect(errorAt('tasks[0].ms')).toBe('too big for this host'));
    expect(submitted(api)).toEqual([{ text, fileName: 'ok.json', baseDir: '/srv/threadline' }]);
  });

  it('takes a dropped file too', async () => {
    mount();
    open();
    const zone = screen.getByTestId('job-drop-zone');
    const file = new File([JSON.stringify({ name: 'x', tasks: [] })], 'empty.json');
    await act(async () => {
      fireEvent.drop(zone, { dataTransfer: { files: [file] } });
    });
    await waitFor(() => expect(errorAt('tasks')).toBe('expected at least one task'));
  });

  it('on the desktop, picks the file natively and submits it with its folder', async () => {
    const api = mount(new RecordingDesktopApi());
    open();
    fireEvent.click(screen.getByRole('button', { name: 'Choose a job file…' }));
    await waitFor(() => expect(screen.getByRole('button', { name: 'Run job' }).hasAttribute('disabled')).toBe(false));
    fireEvent.click(screen.getByRole('button', { name: 'Run job' }));
    await waitFor(() => expect(submitted(api)).toHaveLength(1));
    expect(submitted(api)[0]).toMatchObject({ fileName: '/jobs/nightly.json', baseDir: '/jobs' });
    expect(screen.queryByRole('textbox', { name: 'Base folder (on the server)' })).toBeNull();
  });

  it('on the desktop, says that relative paths resolve against the picked file’s folder', async () => {
    mount(new RecordingDesktopApi());
    open();
    fireEvent.click(screen.getByRole('button', { name: 'Choose a job file…' }));
    await waitFor(() => expect(screen.getByTestId('job-base-dir').textContent).toBe("Relative paths resolve against the job file's folder, /jobs."));
  });

  it('in a browser, asks for the base folder, showing the server’s folder as the default, and refuses a relative one', async () => {
    const api = mount();
    open();
    const text = JSON.stringify({ name: 'ok', tasks: [{ id: 'a', kind: 'file.hash', paths: ['data/*.csv'] }] });
    await dropFile('ok.json', text);
    const folder = await screen.findByRole('textbox', { name: 'Base folder (on the server)' });
    await waitFor(() => expect((folder as HTMLInputElement).value).toBe('/srv/threadline'));
    expect(folder.getAttribute('aria-describedby') && document.getElementById(folder.getAttribute('aria-describedby')!)!.textContent).toMatch(
      /relative paths in this job resolve against the folder given here.*Default: \/srv\/threadline, where the server was started/,
    );
    fireEvent.change(folder, { target: { value: 'jobs/nightly' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run job' }));
    await waitFor(() => expect(screen.getByText(/the base folder must be an absolute path on the server \(got "jobs\/nightly"\)/)).toBeTruthy());
    expect(submitted(api)).toEqual([]);
    expect(folder.getAttribute('aria-invalid')).toBe('true');
    // The host's refusal of the folder is shown there too; fixing the folder lets the job run.
    api.answers.submitJob = () => ({ ok: false, issues: [{ path: '', message: 'baseDir must be an existing folder (nothing at "/home/me/jobs")' }] });
    fireEvent.change(folder, { target: { value: '/home/me/jobs' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run job' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('baseDir must be an existing folder (nothing at "/home/me/jobs")'));
    api.answers.submitJob = undefined;
    fireEvent.change(folder, { target: { value: '/home/me' } });
    expect(screen.queryByRole('alert')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Run job' }));
    await waitFor(() => expect(submitted(api).at(-1)).toEqual({ text, fileName: 'ok.json', baseDir: '/home/me' }));
  });
});
