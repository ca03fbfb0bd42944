import { describe, expect, it } from 'vitest';
import { checkEvent } from '../../renderer/src/transport/event-check';
import { attempt, delta, snapshot, task, T0 } from './records';

function bigSnapshot(n: number) {
  const tasks = Array.from({ length: n }, (_, i) => task(`t${i}`, { state: 'succeeded', attempts: 1, startedAt: T0 + i, finishedAt: T0 + i + 1, worker: 'w1' }));
  const attempts = Object.fromEntries(tasks.map((t, i) => [t.key, [attempt(1, T0 + i, T0 + i + 1, 'w1')]]));
  return snapshot(4, { tasks, attempts });
}

describe('checkEvent', () => {
  it('passes a small event through unchanged', async () => {
    const event = delta(3, { tasks: [task('a')] });
    expect(await checkEvent(event)).toEqual({ ok: true, event });
  });

  it('checks a large snapshot in slices, letting the page paint between them', async () => {
    const event = bigSnapshot(20_000);
    let yields = 0;
    const checked = await checkEvent(event, async () => {
      yields++;
    });
    expect(checked).toEqual({ ok: true, event });
    expect(yields).toBeGreaterThan(0);
  });

  it('finds a bad task deep in a large event and names its real index', async () => {
    const event = bigSnapshot(7000);
    (event.tasks[6123] as unknown as Record<string, unknown>).state = 'exploded';
    const checked = await checkEvent(event, async () => {});
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.problem).toMatch(/^an event the contract does not allow \(tasks\.6123\.state: /);
  });

  it('finds a bad attempt, and a bad envelope, in a large event', async () => {
    const withBadAttempt = bigSnapshot(5000);
    withBadAttempt.attempts['j1:t4999']![0]!.startedAt = 'soon' as unknown as number;
    const a = await checkEvent(withBadAttempt, async () => {});
    expect(!a.ok && a.problem).toMatch(/attempts\.j1:t4999\.0\.startedAt/);
    const withBadSeq = { ...bigSnapshot(5000), seq: -1 };
    const b = await checkEvent(withBadSeq, async () => {});
    expect(!b.ok && b.problem).toMatch(/\(seq: /);
  });

  it('refuses what is not an event at all', async () => {
    const checked = await checkEvent({ type: 'gossip' });
    expect(checked.ok).toBe(false);
    expect(await checkEvent(null)).toMatchObject({ ok: false });
  });
});
