/**
 * `script` runs a module only from the path the user wrote in the job, resolved against the
 * job file's folder (or the baseDir a host was given): never a Node built-in, an installed
 * package, a data: or remote URL, or a same-named file in the current directory.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiHandlers } from '../../electron/hosts/api-handlers.js';
import { jobSpecFromText } from '../../electron/engine/job-file.js';
import { assertBuilt, runBin } from '../cli/bin.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

/** A module that leaves a mark when it runs, so a module that should not have run is caught. */
function markingModule(path: string, says: string): void {
  writeFileSync(path, `import { writeFileSync } from 'node:fs';\nexport default () => { writeFileSync(${JSON.stringify(`${path}.ran`)}, ''); return ${JSON.stringify(says)}; };\n`);
}

describe('script modules run only from the paths the user gave', () => {
  it('a built-in, a package, a data: or file: or https: URL is taken as a file name in the job folder, and is not there', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const base = tempDir();
    const elsewhere = join(tempDir(), 'elsewhere.mjs');
    markingModule(elsewhere, 'elsewhere');
    const modules: Record<string, [string, string]> = {
      builtin: ['node:fs', 'readFileSync'],
      bare: ['fs', 'readFileSync'],
      package: ['piscina', 'default'],
      data: ['data:text/javascript,export default () => "from data"', 'default'],
      'file-url': [pathToFileURL(elsewhere).href, 'default'],
      https: ['https://example.com/module.mjs', 'default'],
    };
    const text = JSON.stringify({ name: 'not files', tasks: Object.entries(modules).map(([id, [module, name]]) => ({ id, kind: 'script', module, export: name, args: '/etc/hostname' })) });
    const job = await engine.submitJob(jobSpecFromText(text, 'job.json', base), base);
    await engine.waitForJob(job.id);
    for (const [id, [module]] of Object.entries(modules)) {
      const task = engine.task(`${job.id}:${id}`)!;
      expect({ id, state: task.state, code: task.error?.code }).toEqual({ id, state: 'failed', code: 'ENOENT' });
      expect(task.error!.message).toBe(`script module ${join(base, module)} does not exist`);
    }
    expect(existsSync(`${elsewhere}.ran`)).toBe(false);
  });

  it('a relative module is the one beside the job file, never one in the current directory', async () => {
    const cwd = tempDir();
    const jobDir = tempDir();
    markingModule(join(cwd, 'step.mjs'), 'from the current directory');
    markingModule(join(jobDir, 'step.mjs'), 'from the job folder');
    writeFileSync(join(jobDir, 'job.json'), JSON.stringify({ name: 'relative', tasks: [{ id: 's', kind: 'script', module: 'step.mjs' }] }));
    const ran = await runBin(['run', join(jobDir, 'job.json'), '--json'], { cwd });
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout).tasks[0]).toMatchObject({ state: 'succeeded', result: 'from the job folder' });
    expect(existsSync(join(cwd, 'step.mjs.ran'))).toBe(false);

    // Without the file beside the job, it fails naming that place; the cwd's module stays unrun.
    const bare = tempDir();
    writeFileSync(join(bare, 'job.json'), JSON.stringify({ name: 'missing', tasks: [{ id: 's', kind: 'script', module: 'step.mjs' }] }));
    const missing = await runBin(['run', join(bare, 'job.json'), '--json'], { cwd });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).tasks[0]).toMatchObject({ state: 'failed', error: { message: `script module ${join(bare, 'step.mjs')} does not exist` } });
    expect(existsSync(join(cwd, 'step.mjs.ran'))).toBe(false);
  });

  it('over the API, against the baseDir the caller gave (absolute only) or the host\'s folder', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const hostDir = tempDir();
    const callerDir = tempDir();
    markingModule(join(hostDir, 'step.mjs'), 'from the host folder');
    mkdirSync(join(callerDir, 'lib'));
    markingModule(join(callerDir, 'lib', 'step.mjs'), 'from the caller folder');
    const api = new ApiHandlers(engine, { defaultBaseDir: hostDir });
    const submit = async (module: string, baseDir?: string) => {
      const outcome = await api.call('submitJob', { text: JSON.stringify({ name: 'api', tasks: [{ id: 's', kind: 'script', module }] }), fileName: 'up.json', baseDir });
      if (!outcome.ok) throw new Error(outcome.error.message);
      const value = outcome.value as { ok: true; job: { id: string } } | { ok: false; issues: Array<{ message: string }> };
      if (!value.ok) return value.issues;
      await engine.waitForJob(value.job.id);
      return engine.task(`${value.job.id}:s`);
    };
    expect(await submit('lib/step.mjs', callerDir)).toMatchObject({ state: 'succeeded', result: 'from the caller folder' });
    expect(await submit('step.mjs')).toMatchObject({ state: 'succeeded', result: 'from the host folder' });
    expect(await submit('step.mjs', 'relative/dir')).toEqual([{ path: '', message: 'baseDir must be an absolute folder (got "relative/dir")' }]);
  });
});
