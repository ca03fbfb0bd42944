import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobFileJsonSchema, validateJobSpec } from '../../contract/job-spec.js';
import { ThreadlineError } from '../../electron/engine/errors.js';
import { jobSpecFromText, loadJobFile } from '../../electron/engine/job-file.js';
import { THREAD_ABOVE_CHARS } from '../../electron/engine/job-reader.js';
import { tempDir } from '../support/engine-fixture.js';

async function loadError(name: string, content: string | null): Promise<ThreadlineError> {
  const dir = tempDir();
  const file = join(dir, name);
  if (content !== null) writeFileSync(file, content);
  try {
    await loadJobFile(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ThreadlineError);
    expect((error as ThreadlineError).exitCode).toBe(2);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message.startsWith(file)).toBe(true);
    return error as ThreadlineError;
  }
  throw new Error('expected the job file to be refused');
}

const task = (extra: Record<string, unknown> = {}) => ({ id: 'a', kind: 'demo.cpu', ms: 10, ...extra });

describe('job files', () => {
  it('reads JSON and YAML alike, with defaults filled in', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'name: nightly\nconcurrency: 2\ntasks:\n  - id: a\n    kind: demo.cpu\n    ms: 200\n  - {id: b, kind: demo.block, ms: 100, dependsOn: [a], timeoutMs: 5000, retries: 1}\n');
    writeFileSync(
      join(dir, 'a.json'),
      '{"name":"nightly","concurrency":2,"onFailure":"continue","tasks":[{"id":"a","kind":"demo.cpu","ms":200},{"id":"b","kind":"demo.block","ms":100,"dependsOn":["a"],"timeoutMs":5000,"retries":1}]}',
    );
    const yaml = await loadJobFile(join(dir, 'a.yaml'));
    const json = await loadJobFile(join(dir, 'a.json'));
    expect(yaml.spec).toEqual(json.spec);
    expect(yaml.baseDir).toBe(dir);
    expect(json.spec.tasks[0]).toEqual({ id: 'a', kind: 'demo.cpu', priority: 0, retries: 0, retryBackoffMs: 500, dependsOn: [], input: { ms: 200, cooperative: true } });
    expect(json.spec.tasks[1]).toMatchObject({ timeoutMs: 5000, retries: 1, dependsOn: ['a'], input: { ms: 100 } });
  });

  it.each([
    ['not parseable JSON', 'job.json', '{"name": "x", tasks: []}', /job\.json: not valid JSON at line 1, column 15: unexpected "tasks"$/],
    ['JSON cut short', 'job.json', '{"name": "x",\n "tasks": [', /job\.json: not valid JSON at line 2, column 12: expected "\]"$/],
    ['JSON with a missing comma', 'job.json', '{"name": "x"\n  "tasks": []}', /job\.json: not valid JSON at line 2, column 3: expected a comma$/],
    ['not parseable YAML', 'job.yaml', 'name: x\ntasks: [\n', /job\.yaml: not valid YAML at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a \]$/],
    ['a YAML key twice', 'job.yaml', 'name: x\nname: y\ntasks: []\n', /job\.yaml: not valid YAML at line 2, column 1: Map keys must be unique$/],
    ['missing tasks', 'job.json', '{"name":"x"}', /job\.json: tasks: missing; expected array$/],
    ['empty tasks', 'job.json', '{"name":"x","tasks":[]}', /tasks: expected at least one task$/],
    ['missing name', 'job.json', JSON.stringify({ tasks: [task()] }), /job\.json: name: missing; expected string$/],
    ['unknown kind', 'job.json', JSON.stringify({ name: 'x', tasks: [task({ kind: 'demo.nope' })] }), /tasks\[0\]\.kind: unknown kind "demo\.nope"; expected one of (\S+, )*demo\.echo, demo\.cpu, /],
    ['wrong type', 'job.json', JSON.stringify({ name: 'x', tasks: [task(), task({ id: 'b', ms: 'fast' })] }), /tasks\[1\]\.ms: expected number, received string$/],
    ['wrong type of a common field', 'job.json', JSON.stringify({ name: 'x', tasks: [task({ retries: -1 })] }), /tasks\[0\]\.retries: expected a number >= 0, got -1$/],
    ['a task that is not an object', 'job.json', JSON.stringify({ name: 'x', tasks: [task(), 'demo.cpu'] }), /job\.json: tasks\[1\]: expected object, received string$/],
    ['a common field and a kind’s field both wrong (the common field is named)', 'job.json', JSON.stringify({ name: 'x', tasks: [task({ retries: -1, ms: 'fast' })] }), /job\.json: tasks\[0\]\.retries: expected a number >= 0, got -1$/],
    ['unknown field (a typo)', 'job.json', JSON.stringify({ name: 'x', tasks: [task({ timeout: 5 })] }), /tasks\[0\]: unknown field "timeout"$/],
    ['duplicate id', 'job.json', JSON.stringify({ name: 'x', tasks: [task(), task()] }), /tasks\[1\]\.id: duplicate id "a" \(also tasks\[0\]\)$/],
    ['unknown dependsOn', 'job.json', JSON.stringify({ name: 'x', tasks: [task({ dependsOn: ['ghost'] })] }), /tasks\[0\]\.dependsOn\[0\]: unknown task id "ghost"$/],
    ['cyclic dependsOn', 'job.json', JSON.stringify({ name: 'x', tasks: [task({ dependsOn: ['c'] }), task({ id: 'b', dependsOn: ['a'] }), task({ id: 'c', dependsOn: ['b'] })] }), /dependency cycle: a -> c -> b -> a$/],
    ['self dependency', 'job.json', JSON.stringify({ name: 'x', tasks: [task({ dependsOn: ['a'] })] }), /tasks\[0\]\.dependsOn\[0\]: a task cannot depend on itself$/],
    ['a document that is not an object', 'job.yaml', '- just\n- a list\n', /job\.yaml: expected object, received array$/],
    ['two YAML documents (the second would be dropped)', 'job.yaml', 'name: x\ntasks: [{id: a, kind: demo.echo}]\n---\nname: y\n', /job\.yaml: not valid YAML at line 3, column 1: a second YAML document begins here; a job file holds one$/],
  ])('refuses %s with a one-line message naming the file and field', async (_case, name, content, message) => {
    expect((await loadError(name, content)).message).toMatch(message);
  });

  it('reads a YAML file that ends in a document marker with nothing after it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'end.yaml'), '---\nname: x\ntasks: [{id: a, kind: demo.cpu, ms: 10}]\n---\n');
    expect((await loadJobFile(join(dir, 'end.yaml'))).spec.name).toBe('x');
  });

  it('refuses a missing file and a directory', async () => {
    expect((await loadError('nope.json', null)).message).toMatch(/nope\.json: no such file$/);
    const dir = tempDir();
    mkdirSync(join(dir, 'folder.json'));
    await expect(loadJobFile(join(dir, 'folder.json'))).rejects.toThrow(/folder\.json: is a directory; expected a JSON or YAML job file$/);
  });

  it('names every problem, one line each, up to ten, and counts the rest', async () => {
    const dir = tempDir();
    const file = join(dir, 'job.json');
    writeFileSync(file, JSON.stringify({ name: 'x', tasks: [task({ ms: 'a' }), task({ id: 'b', kind: 'demo.nope' }), task({ id: 'c', speed: 1 })] }));
    const refusal = (await loadJobFile(file).catch((error: unknown) => error)) as ThreadlineError;
    expect(refusal).toBeInstanceOf(ThreadlineError);
    expect(refusal.message.split('\n')).toEqual([
      `${file}: tasks[0].ms: expected number, received string`,
      expect.stringMatching(new RegExp(`^${file}: tasks\\[1\\]\\.kind: unknown kind "demo\\.nope"; expected one of `)),
      `${file}: tasks[2]: unknown field "speed"`,
    ]);

    writeFileSync(file, JSON.stringify({ name: 'x', tasks: Array.from({ length: 14 }, (_, i) => task({ id: `t${i}`, ms: 'slow' })) }));
    const many = ((await loadJobFile(file).catch((error: unknown) => error)) as Error).message.split('\n');
    expect(many).toHaveLength(11);
    expect(many.slice(0, 10).every((line, i) => line === `${file}: tasks[${i}].ms: expected number, received string`)).toBe(true);
    expect(many[10]).toBe(`${file}: and 4 more problems`);
  });

  it('reads a big file in a thread: the same spec, and the same one-line refusals, as the text read at once', async () => {
    const dir = tempDir();
    const tasks: Array<Record<string, unknown>> = Array.from({ length: 3000 }, (_, i) => task({ id: `t${i}`, dependsOn: i ? [`t${i - 1}`] : [] }));
    const good = JSON.stringify({ name: 'big', tasks });
    expect(good.length).toBeGreaterThan(THREAD_ABOVE_CHARS);
    writeFileSync(join(dir, 'big.json'), good);
    const loaded = await loadJobFile(join(dir, 'big.json'));
    expect(loaded.spec).toStrictEqual(jobSpecFromText(good, join(dir, 'big.json'), dir));

    tasks[2999]!.ms = 'slow';
    const bad = JSON.stringify({ name: 'big', tasks });
    writeFileSync(join(dir, 'bad.json'), bad);
    const message = `${join(dir, 'bad.json')}: tasks[2999].ms: expected number, received string`;
    expect(() => jobSpecFromText(bad, join(dir, 'bad.json'), dir)).toThrow(message);
    const refusal: unknown = await loadJobFile(join(dir, 'bad.json')).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ThreadlineError);
    expect(refusal).toMatchObject({ message, exitCode: 2 });
  });

  it('handles a 100,000-task chain without deep recursion', () => {
    const tasks = Array.from({ length: 100_000 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', dependsOn: i ? [`t${i - 1}`] : [] }));
    expect(validateJobSpec({ name: 'big', tasks }).ok).toBe(true);
    tasks[0]!.dependsOn = ['t99999'];
    const result = validateJobSpec({ name: 'big', tasks });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues[0]!.message).toMatch(/^dependency cycle: t0 -> t99999 -> t99998/);
  });

  it('publishes a JSON Schema that names every kind', () => {
    const schema = JSON.stringify(jobFileJsonSchema());
    for (const kind of ['demo.cpu', 'demo.block', 'demo.alloc', 'demo.fail', 'demo.sleep', 'demo.echo']) expect(schema).toContain(`"${kind}"`);
    expect(schema).toContain('"dependsOn"');
  });
});
