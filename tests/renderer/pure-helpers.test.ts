import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KINDS } from '../../contract/kinds/index';
import { cellText, previewJson, resultTable } from '../../renderer/src/detail/result-rows';
import { closeDirectionControls, formatBytes, formatDuration } from '../../renderer/src/format';
import { convertField, describeFields, initialValue } from '../../renderer/src/new-work/field-spec';
import { locateIssue } from '../../renderer/src/new-work/issue-paths';
import { RingBuffer } from '../../renderer/src/store/ring-buffer';
import { canCancel, canRetry, filterTaskKeys, NO_FILTER } from '../../renderer/src/tasks/task-filter';
import { fitRange, followNow, LIVE_MARGIN, MIN_MS_PER_PX, panBy, tickStep, timeAtX, xOfTime, zoomAround } from '../../renderer/src/timeline/timeline-viewport';
import { T0, task } from './records';

describe('timeline viewport', () => {
  it('zooms around the pointer: the time under it stays under it, and live mode ends', () => {
    const view = { t0: T0, msPerPx: 10, follow: true };
    const at = timeAtX(view, 300);
    const zoomed = zoomAround(view, 300, 0.5);
    expect(zoomed.msPerPx).toBe(5);
    expect(timeAtX(zoomed, 300)).toBeCloseTo(at, 6);
    expect(zoomed.follow).toBe(false);
    expect(zoomAround(view, 0, 1e-9).msPerPx).toBe(MIN_MS_PER_PX);
  });

  it('pans by pixels and follows now with a margin on the right', () => {
    const view = { t0: T0, msPerPx: 10, follow: false };
    expect(panBy(view, 50).t0).toBe(T0 - 500);
    const live = followNow(view, T0 + 100_000, 1000);
    expect(live.follow).toBe(true);
    expect(xOfTime(live, T0 + 100_000)).toBeCloseTo(1000 * (1 - LIVE_MARGIN), 6);
    const fit = fitRange(T0, T0 + 10_000, 1000);
    expect(xOfTime(fit, T0)).toBeGreaterThan(0);
    expect(xOfTime(fit, T0 + 10_000)).toBeLessThan(1000);
  });

  it('picks tick steps people read: 1-2-5 ms, then clock steps', () => {
    expect(tickStep(0.01)).toBe(1);
    expect(tickStep(1)).toBe(100);
    expect(tickStep(100)).toBe(10_000);
    expect(tickStep(200)).toBe(30_000);
  });
});

describe('RingBuffer', () => {
  it('keeps the newest items, oldest first', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.at(0)).toBe(3);
    expect(ring.at(-1)).toBe(5);
    expect(ring.at(3)).toBeUndefined();
    ring.clear();
    expect(ring.length).toBe(0);
    expect(() => new RingBuffer(0)).toThrow(/positive integer/);
  });
});

describe('task filter', () => {
  const tasks = new Map(
    [
      task('load', { state: 'running', kind: 'sql.query', worker: '3' }),
      task('hash', { state: 'failed', kind: 'file.hash', error: { code: 'ENOENT', message: 'no such file /data/x' } }),
      task('other', { jobId: 'j2', state: 'succeeded' }),
      task('later', { state: 'queued' }),
    ].map((t) => [t.key, t]),
  );
  const order = [...tasks.keys()];

  it('passes everything through without a filter, without copying', () => {
    expect(filterTaskKeys(order, tasks, NO_FILTER)).toBe(order);
  });

  it('filters by state, job and text (id, kind, thread, error)', () => {
    expect(filterTaskKeys(order, tasks, { ...NO_FILTER, state: 'active' })).toEqual(['j1:load', 'j1:later']);
    expect(filterTaskKeys(order, tasks, { ...NO_FILTER, state: 'failed' })).toEqual(['j1:hash']);
    expect(filterTaskKeys(order, tasks, { ...NO_FILTER, jobId: 'j2' })).toEqual(['j2:other']);
    expect(filterTaskKeys(order, tasks, { ...NO_FILTER, text: 'SQL' })).toEqual(['j1:load']);
    expect(filterTaskKeys(order, tasks, { ...NO_FILTER, text: 'such file' })).toEqual(['j1:hash']);
    expect(filterTaskKeys(order, tasks, { ...NO_FILTER, text: '3' })).toEqual(['j1:load']);
    expect(filterTaskKeys(order, tasks, { state: 'failed', jobId: 'j2', machine: null, text: '' })).toEqual([]);
  });

  it('offers Cancel to unfinished tasks and Retry to ended ones other than succeeded', () => {
    expect(['queued', 'running', 'cancelling'].every((s) => canCancel(s as never))).toBe(true);
    expect(['succeeded', 'failed', 'cancelled', 'interrupted'].some((s) => canCancel(s as never))).toBe(false);
    expect(['failed', 'cancelled', 'timed_out', 'skipped'].every((s) => canRetry(s as never))).toBe(true);
    expect(['succeeded', 'running', 'queued', 'interrupted'].some((s) => canRetry(s as never))).toBe(false);
  });
});

describe('form fields from kind schemas', () => {
  it('reads controls, requiredness, defaults and ranges from zod', () => {
    const schema = z.object({
      db: z.string().min(1).describe('the database file'),
      sql: z.string(),
      limit: z.number().int().min(1).max(1000).default(100),
      ratio: z.number().optional(),
      readonly: z.boolean().default(true),
      mode: z.enum(['rows', 'count']),
      paths: z.array(z.string()).min(1),
      from: z.union([z.string(), z.array(z.string())]),
      params: z.record(z.string(), z.unknown()).optional(),
    });
    const fields = Object.fromEntries(describeFields(schema).map((f) => [f.name, f]));
    expect(fields.db).toMatchObject({ control: 'text', required: true, description: 'the database file' });
    expect(fields.sql).toMatchObject({ control: 'textarea', required: true });
    expect(fields.limit).toMatchObject({ control: 'number', required: false, defaultValue: 100, integer: true, min: 1, max: 1000 });
    expect(fields.ratio).toMatchObject({ control: 'number', required: false, integer: false });
    expect(fields.readonly).toMatchObject({ control: 'checkbox', defaultValue: true });
    expect(fields.mode).toMatchObject({ control: 'select', options: ['rows', 'count'] });
    expect(fields.paths).toMatchObject({ control: 'list', required: true });
    expect(fields.from).toMatchObject({ control: 'list' });
    expect(fields.params).toMatchObject({ control: 'json', required: false });
    expect(initialValue(fields.limit!)).toBe('100');
    expect(initialValue(fields.readonly!)).toBe(true);
    expect(initialValue(fields.mode!)).toBe('rows');
  });

  it('describes every kind the contract lists', () => {
    for (const kind of KINDS) {
      const fields = describeFields(kind.input);
      expect(fields.map((f) => f.name)).toEqual(Object.keys(kind.input.shape));
    }
  });

  it('turns form text into input: numbers, lists, JSON; empty optional fields left out', () => {
    const [n, list, json, text] = describeFields(
      z.object({ n: z.number().optional(), list: z.array(z.string()), json: z.record(z.string(), z.unknown()), text: z.string() }),
    );
    expect(convertField(n!, '12.5')).toEqual({ ok: true, value: 12.5 });
    expect(convertField(n!, 'twelve')).toEqual({ ok: true, value: 'twelve' });
    expect(convertField(n!, '')).toEqual({ ok: true, omit: true });
    expect(convertField(list!, ' a.csv \n\n b/*.csv ')).toEqual({ ok: true, value: ['a.csv', 'b/*.csv'] });
    expect(convertField(json!, '{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    const bad = convertField(json!, '{a:1}');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/^not valid JSON/);
    expect(convertField(text!, '')).toEqual({ ok: true, value: '' });
  });
});

describe('issue paths', () => {
  it('splits a path into task, field and the rest', () => {
    expect(locateIssue('tasks[2].dependsOn[0]')).toEqual({ task: 2, field: 'dependsOn', rest: '[0]' });
    expect(locateIssue('tasks[0].ms')).toEqual({ task: 0, field: 'ms', rest: '' });
    expect(locateIssue('tasks[7]')).toEqual({ task: 7, field: '', rest: '' });
    expect(locateIssue('name')).toEqual({ task: null, field: 'name', rest: '' });
    expect(locateIssue('tasks')).toEqual({ task: null, field: 'tasks', rest: '' });
    expect(locateIssue('')).toEqual({ task: null, field: '', rest: '' });
  });
});

describe('result preview', () => {
  it('reads SQL-like results as tables', () => {
    expect(resultTable([{ a: 1, b: 'x' }, { a: 2, c: null }])).toEqual({ columns: ['a', 'b', 'c'], rows: [[1, 'x', undefined], [2, undefined, null]], total: 2, rest: null });
    expect(resultTable({ columns: ['id', 'name'], rows: [[1, 'AC/DC']], rowCount: 275 })).toEqual({ columns: ['id', 'name'], rows: [[1, 'AC/DC']], total: 275, rest: { rowCount: 275 } });
    expect(resultTable({ columns: [{ name: 'id' }], rows: [{ id: 5 }] })).toEqual({ columns: ['id'], rows: [[5]], total: 1, rest: {} });
    // What sql.query returns: the first rows as `preview`, where the rest went as `output`.
    const query = { columns: ['ArtistId', 'Name'], rowCount: 275, preview: [[1, 'AC/DC'], [2, 'Accept']], output: { path: '/tmp/a.csv', format: 'csv', bytes: 4000 }, durationMs: 3 };
    expect(resultTable(query)).toEqual({
      columns: ['ArtistId', 'Name'],
      rows: [[1, 'AC/DC'], [2, 'Accept']],
      total: 275,
      rest: { rowCount: 275, output: { path: '/tmp/a.csv', format: 'csv', bytes: 4000 }, durationMs: 3 },
    });
    expect(resultTable(Array.from({ length: 500 }, (_, i) => ({ i })), 10)?.rows).toHaveLength(10);
  });

  it('leaves other results to JSON, and cuts what is too long', () => {
    expect(resultTable(42)).toBeNull();
    expect(resultTable([1, 2])).toBeNull();
    expect(resultTable({ sha256: 'ab' })).toBeNull();
    expect(cellText(null)).toBe('NULL');
    expect(cellText('x'.repeat(300), 10)).toHaveLength(10);
    expect(previewJson({ a: 'x'.repeat(100) }, 20)).toMatch(/more characters\)$/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(previewJson(cyclic)).toBe('[object Object]');
  });
});

describe('formats', () => {
  it('writes durations and sizes', () => {
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(0.5)).toBe('0.50 ms');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(1500)).toBe('1.50 s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(null)).toBe('n/a');
  });
});

describe('a person’s text inside a sentence of ours', () => {
  it('closes the direction overrides and isolates it leaves open, in nesting order, and leaves other text alone', () => {
    const [LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI] = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069'];
    expect(closeDirectionControls('nightly export')).toBe('nightly export');
    expect(closeDirectionControls('שלום')).toBe('שלום');
    expect(closeDirectionControls(`${RLO}gnp.exe`)).toBe(`${RLO}gnp.exe${PDF}`);
    expect(closeDirectionControls(`a${RLO}b${PDF}c`)).toBe(`a${RLO}b${PDF}c`);
    expect(closeDirectionControls(`${LRE}${RLI}x`)).toBe(`${LRE}${RLI}x${PDI}${PDF}`);
    // An isolate's end closes the embeddings opened within it; a stray closer opens nothing.
    expect(closeDirectionControls(`${FSI}${LRO}x${PDI}y`)).toBe(`${FSI}${LRO}x${PDI}y`);
    expect(closeDirectionControls(`${PDF}${PDI}x${LRI}${RLE}`)).toBe(`${PDF}${PDI}x${LRI}${RLE}${PDF}${PDI}`);
  });
});
