import { describe, expect, it } from 'vitest';
import { validateJobSpec } from '../../contract/job-spec.js';
import { latestDueAtOrBefore, nextDueAfter } from '../../contract/schedule.js';

const task = { id: 'a', kind: 'demo.echo', value: 1 };
const withSchedule = (schedule: unknown) => validateJobSpec({ name: 'nightly', schedule, tasks: [task] });

/** Every due time in [from, to), as ISO strings. */
function dueTimes(cron: string, timezone: string, fromIso: string, toIso: string): string[] {
  const out: string[] = [];
  for (let at = nextDueAfter({ cron, timezone }, Date.parse(fromIso) - 1); at !== null && at < Date.parse(toIso); at = nextDueAfter({ cron, timezone }, at)) {
    out.push(new Date(at).toISOString());
  }
  return out;
}

describe('the schedule field of a job file', () => {
  it('takes a five- or six-field cron, a time zone, and defaults catchUp "once" and overlap "skip"', () => {
    expect(withSchedule({ cron: '0 2 * * *' })).toMatchObject({ ok: true, spec: { schedule: { cron: '0 2 * * *', catchUp: 'once', overlap: 'skip' } } });
    expect(withSchedule({ cron: '*/2 * * * * *', timezone: 'Europe/Paris', catchUp: 'none', overlap: 'allow' })).toMatchObject({
      ok: true,
      spec: { schedule: { cron: '*/2 * * * * *', timezone: 'Europe/Paris', catchUp: 'none', overlap: 'allow' } },
    });
    expect(withSchedule({ cron: '0 9 * * MON-FRI' })).toMatchObject({ ok: true });
    // A job without one is an ordinary job.
    const plain = validateJobSpec({ name: 'plain', tasks: [task] });
    expect(plain.ok && plain.spec.schedule).toBeUndefined();
  });

  it.each([
    ['61 * * * *', 'schedule.cron', /^not a valid cron expression "61 \* \* \* \*": .*minute: 61$/],
    ['* * *', 'schedule.cron', /^not a valid cron expression "\* \* \*": .*five, six, or seven .*parts/],
    ['a b c d e', 'schedule.cron', /^not a valid cron expression "a b c d e": .*illegal characters/],
    ['* * * * * * *', 'schedule.cron', /^not a valid cron expression .*requires exactly 5 or 6 parts/],
    ['0 0 31 2 *', 'schedule.cron', /^"0 0 31 2 \*" never matches a date$/],
    ['0 25 * * *', 'schedule.cron', /hour: 25/],
    ['*/0 * * * *', 'schedule.cron', /^not a valid cron expression/],
    ['0 2 * * *\n0 3 * * *', 'schedule.cron', /^not a valid cron expression "0 2 \* \* \*\\n0 3 \* \* \*"/],
  ])('refuses the cron %j at %s, in one line', (cron, path, message) => {
    const result = withSchedule({ cron });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]!.path).toBe(path);
    expect(result.issues[0]!.message).toMatch(message);
    expect(result.issues[0]!.message).not.toContain('\n');
  });

  it.each([
    [{ cron: '' }, 'schedule.cron', /expected string to have >=1 characters|too small/i],
    [{}, 'schedule.cron', /^missing; expected string$/],
    [{ cron: 5 }, 'schedule.cron', /expected string/],
    [{ cron: '0 2 * * *', timezone: 'Mars/Olympus' }, 'schedule.timezone', /^unknown time zone "Mars\/Olympus"; expected an IANA name/],
    [{ cron: '0 2 * * *', catchUp: 'all' }, 'schedule.catchUp', /"once"\|"none"|once.*none/],
    [{ cron: '0 2 * * *', overlap: 'queue' }, 'schedule.overlap', /skip.*allow/],
    [{ cron: '0 2 * * *', every: '1h' }, 'schedule', /unknown field "every"/],
    ['0 2 * * *', 'schedule', /expected object/],
  ])('refuses the schedule %j at %s', (schedule, path, message) => {
    const result = withSchedule(schedule);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]!.path).toBe(path);
    expect(result.issues[0]!.message).toMatch(message);
  });
});

describe('due times across daylight saving time (Europe/Paris)', () => {
  it('a fixed time in the skipped hour runs once, at the first valid time after it; in the repeated hour, once', () => {
    expect(dueTimes('30 2 * * *', 'Europe/Paris', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(dueTimes('30 2 * * *', 'Europe/Paris', '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z')).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first of the two 02:30s, only
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('an interval inside the hour skips the hour that does not exist and runs in both copies of the repeated one', () => {
    expect(dueTimes('*/30 2 * * *', 'Europe/Paris', '2026-03-28T22:00:00Z', '2026-03-29T22:00:00Z')).toEqual([]);
    expect(dueTimes('*/30 2 * * *', 'Europe/Paris', '2026-10-24T22:00:00Z', '2026-10-25T22:00:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
    ]);
  });

  it('the latest due time at or before an instant counts one that falls exactly on it', () => {
    expect(latestDueAtOrBefore({ cron: '0 * * * *' }, Date.parse('2026-06-01T10:00:00Z'))).toBe(Date.parse('2026-06-01T10:00:00Z'));
    expect(latestDueAtOrBefore({ cron: '0 * * * *' }, Date.parse('2026-06-01T10:59:59.999Z'))).toBe(Date.parse('2026-06-01T10:00:00Z'));
  });
});

describe('due times across shifts that are not an hour at 02:00', () => {
  it('Lord Howe moves by half an hour: a time in its gap runs once at the gap’s end, one in its repeated half hour once', () => {
    // 2026-10-04 02:00 LHST (+10:30) becomes 02:30 LHDT (+11).
    expect(dueTimes('15 2 * * *', 'Australia/Lord_Howe', '2026-10-02T12:00:00Z', '2026-10-05T12:00:00Z')).toEqual([
      '2026-10-02T15:45:00.000Z',
      '2026-10-03T15:30:00.000Z', // 02:15 does not exist: 02:30 LHDT
      '2026-10-04T15:15:00.000Z',
    ]);
    // 2026-04-05 02:00 LHDT becomes 01:30 LHST: 01:45 comes twice (14:45Z and 15:15Z), and runs once.
    expect(dueTimes('45 1 * * *', 'Australia/Lord_Howe', '2026-04-03T12:00:00Z', '2026-04-06T12:00:00Z')).toEqual([
      '2026-04-03T14:45:00.000Z',
      '2026-04-04T14:45:00.000Z',
      '2026-04-05T15:15:00.000Z',
    ]);
    // The scheduler asks for the latest due time at each tick: after the second 01:45, still the first.
    expect(latestDueAtOrBefore({ cron: '45 1 * * *', timezone: 'Australia/Lord_Howe' }, Date.parse('2026-04-04T15:20:00Z'))).toBe(Date.parse('2026-04-04T14:45:00Z'));
  });

  it('Santiago skips its midnight hour: 00:30 runs once, at 01:00, and the latest due time agrees', () => {
    expect(dueTimes('30 0 * * *', 'America/Santiago', '2026-09-05T00:00:00Z', '2026-09-08T00:00:00Z')).toEqual([
      '2026-09-05T04:30:00.000Z',
      '2026-09-06T04:00:00.000Z', // 00:30 does not exist on 6 September: 01:00 -03
      '2026-09-07T03:30:00.000Z',
    ]);
    expect(latestDueAtOrBefore({ cron: '30 0 * * *', timezone: 'America/Santiago' }, Date.parse('2026-09-06T04:10:00Z'))).toBe(Date.parse('2026-09-06T04:00:00Z'));
  });
});
