import fc from 'fast-check';
import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Parser, stringify as stringifyYaml } from 'yaml';
import { validateJobSpec } from '../../contract/job-spec.js';
import { KINDS } from '../../contract/kinds/index.js';
import { ThreadlineError } from '../../electron/engine/errors.js';
import { jobSpecFromText } from '../../electron/engine/job-file.js';
import { tooDeepInTokens } from '../../contract/yaml-text.js';
import { tooDeepAt } from '../../shared/nesting.js';

const RUNS = 3000;

/** Every refusal must be a ThreadlineError: a line per problem (at most ten, and one counting the rest), each naming the file. */
function parseOrRefuse(text: string, fileName: string): 'ok' | 'refused' {
  try {
    jobSpecFromText(text, fileName, '/base');
    return 'ok';
  } catch (error) {
    if (!(error instanceof ThreadlineError)) throw error;
    const lines = error.message.split('\n');
    expect(lines.length).toBeLessThanOrEqual(11);
    for (const line of lines) expect(line.startsWith(`${fileName}: `)).toBe(true);
    expect(error.exitCode).toBe(2);
    return 'refused';
  }
}

const kindNames = KINDS.map((k) => k.name);
const anyValue = fc.jsonValue({ maxDepth: 3 });
const taskLike = fc.record(
  {
    id: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('a', 'b', 'c'), anyValue),
    kind: fc.oneof(fc.constantFrom(...kindNames), fc.string({ maxLength: 12 }), anyValue),
    ms: fc.oneof(fc.integer({ min: -5, max: 100 }), anyValue),
    dependsOn: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'c', 'zz'), { maxLength: 3 }), anyValue),
    priority: fc.oneof(fc.integer(), anyValue),
    retries: fc.oneof(fc.integer({ min: -2, max: 200 }), anyValue),
    timeoutMs: fc.oneof(fc.integer(), fc.double(), anyValue),
  },
  { requiredKeys: [] },
);
const jobLike = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 10 }), anyValue),
    concurrency: fc.oneof(fc.integer({ min: -1, max: 5 }), anyValue),
    onFailure: fc.oneof(fc.constantFrom('continue', 'fail-fast', 'stop'), anyValue),
    tasks: fc.oneof(fc.array(taskLike, { maxLength: 6 }), anyValue),
  },
  { requiredKeys: [] },
);

describe('job-file parser under random input', () => {
  it(`never crashes on ${RUNS} random structured documents, and every refusal names where`, () => {
    fc.assert(
      fc.property(jobLike, (doc) => {
        const result = validateJobSpec(doc);
        if (!result.ok) {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) {
            expect(typeof issue.path).toBe('string');
            expect(issue.message.length).toBeGreaterThan(0);
          }
        }
        parseOrRefuse(JSON.stringify(doc), 'job.json');
      }),
      { numRuns: RUNS },
    );
  });

  it(`never crashes on ${RUNS} random texts as JSON or YAML`, () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('job.json', 'job.yaml', 'job'), (text, name) => {
        parseOrRefuse(text, name);
      }),
      { numRuns: RUNS },
    );
  });

  it(`never crashes on ${RUNS} mutations of a valid file`, () => {
    const valid = JSON.stringify({
      name: 'n',
      concurrency: 2,
      tasks: [
        { id: 'a', kind: 'demo.cpu', ms: 5 },
        { id: 'b', kind: 'demo.block', ms: 5, dependsOn: ['a'], retries: 1 },
      ],
    });
    const mutation = fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 5 }), fc.string({ maxLength: 4 }));
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        let text = valid;
        for (const [at, cut, insert] of mutations) text = text.slice(0, at) + insert + text.slice(at + cut);
        if (parseOrRefuse(text, 'job.json') === 'ok') accepted++;
      }),
      { numRuns: RUNS },
    );
    // The mutations must sometimes keep the file valid, or this tests only the JSON parser.
    expect(accepted).toBeGreaterThan(0);
  });

  it(`never crashes on ${RUNS} tasks of every kind with random field values, and makes every accepted path absolute`, () => {
    const pathLike = fc.oneof(
      fc.constantFrom('data.db', '../up/../x.csv', '/abs/ü 😀.txt', '-dash', 'a "q" \'s\'.txt', '*.log', '**/[ab]?.{c,d}', '!(x)', '.', '..', 'C:\\win\\path', 'file:///etc/passwd', 'node:fs', 'https://example.com/m.js'),
      fc.string({ maxLength: 12, unit: 'binary' }),
    );
    const fieldValue = fc.oneof(pathLike, anyValue, fc.array(pathLike, { maxLength: 3 }), fc.record({ path: pathLike, format: fc.constantFrom('csv', 'json', 'x') }, { requiredKeys: [] }));
    const task = fc.constantFrom(...KINDS).chain((kind) =>
      fc
        .record(Object.fromEntries(Object.keys(kind.input.shape).map((field) => [field, fieldValue])), { requiredKeys: [] })
        .map((fields) => ({ id: 'a', kind: kind.name, ...fields })),
    );
    const baseDir = fc.constantFrom('/base', '/odd dir/ü 😀 [x] {a,b} *', '/-dash/"q"');
    let accepted = 0;
    fc.assert(
      fc.property(task, baseDir, (t, base) => {
        let spec;
        try {
          spec = jobSpecFromText(JSON.stringify({ name: 'n', tasks: [t] }), 'job.json', base);
        } catch (error) {
          if (!(error instanceof ThreadlineError)) throw error;
          for (const line of error.message.split('\n')) expect(line.startsWith('job.json: ')).toBe(true);
          return;
        }
        accepted++;
        // A resolved job no longer depends on the folder it is run from.
        const input = spec.tasks[0]!.input as Record<string, unknown>;
        const paths = [input.db, input.file, input.module, input.manifest, input.outDir, (input.output as { path?: unknown } | undefined)?.path, ...((input.paths as unknown[]) ?? [])];
        if (spec.tasks[0]!.kind === 'http.fetch') paths.push(input.output);
        for (const path of paths) if (typeof path === 'string') expect(isAbsolute(path), path).toBe(true);
      }),
      { numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it("measures YAML's nesting from its tokens as it is in the value they make, with the same path", () => {
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constantFrom(1, 'x', null), tie('array'), tie('object')),
      array: fc.array(tie('tree'), { maxLength: 3 }),
      object: fc.dictionary(fc.constantFrom('a', 'b c', '1', '', 'x-y', '$z', 'key: v'), tie('tree'), { maxKeys: 3 }),
    }));
    const tokens = (text: string) => Array.from(new Parser().parse(text));
    fc.assert(
      fc.property(tree, fc.constantFrom('flow', 'block', 'any') as fc.Arbitrary<'flow' | 'block' | 'any'>, fc.integer({ min: 1, max: 7 }), (value, collectionStyle, max) => {
        const text = stringifyYaml(value, { collectionStyle });
        expect(tooDeepInTokens(tokens(text), max), text).toBe(tooDeepAt(value, max));
      }),
      { numRuns: 2000 },
    );
    // A pair in a flow sequence is a map of its own; a collection as a key counts as deep as it nests.
    expect(tooDeepInTokens(tokens('[a: [b: 1]]'), 4)).toBe(null);
    expect(tooDeepInTokens(tokens('[a: [b: 1]]'), 3)).toBe('[0].a[0]');
    expect(tooDeepInTokens(tokens('[? x : 1]'), 1)).toBe('[0]');
    expect(tooDeepInTokens(tokens('? [[1]]\n: v\n'), 2)).toBe('[?][0]');
    expect(tooDeepInTokens(tokens('- &a [1]\n- [*a]\n'), 2)).toBe(null);
  });

  it('refuses YAML alias bombs quickly', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(() => jobSpecFromText(bomb, 'bomb.yaml', '/')).toThrow(/bomb\.yaml: not valid YAML/);
  });
});
