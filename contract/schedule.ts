/**
 * A job file's `schedule`: when the job runs by itself. Pure (croner is plain JavaScript), so
 * the renderer, the CLI and the hosts check a cron expression with the same rules.
 */
import { Cron } from 'croner';
import { z } from 'zod';

/** Five fields (minute first) or six (seconds first); names of months and weekdays allowed. */
const CRON_MODE = '5-or-6-parts';

/** Why a cron expression cannot be used, or null when it can. */
export function cronProblem(expression: string, timezone?: string): string | null {
  try {
    const cron = new Cron(expression, { mode: CRON_MODE, timezone, paused: true });
    // A pattern that never matches (31 February) would leave the schedule idle forever.
    if (cron.nextRun(new Date(0)) === null) return `${JSON.stringify(expression)} never matches a date`;
    return null;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return `not a valid cron expression ${JSON.stringify(expression)}: ${reason}`;
  }
}

/** Is `zone` an IANA time zone this runtime knows (e.g. "Europe/Paris")? */
export function knownTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const scheduleSchema = z
  .strictObject({
    /** `0 2 * * *` (minute hour day month weekday), or with a leading seconds field. */
    cron: z.string().min(1).max(200),
    /** An IANA zone the cron expression is read in; default: the machine's zone. */
    timezone: z.string().min(1).max(100).optional(),
    /** After the host was closed or the machine slept through runs: one run at once, or nothing. */
    catchUp: z.enum(['once', 'none']).default('once'),
    /** A run due while the previous one still runs: skipped (and recorded), or started anyway. */
    overlap: z.enum(['skip', 'allow']).default('skip'),
  })
  .superRefine((value, context) => {
    if (value.timezone !== undefined && !knownTimezone(value.timezone)) {
      context.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone ${JSON.stringify(value.timezone)}; expected an IANA name such as "Europe/Paris"` });
      return;
    }
    const problem = cronProblem(value.cron, value.timezone);
    if (problem) context.addIssue({ code: 'custom', path: ['cron'], message: problem });
  });

export type ScheduleSpec = z.output<typeof scheduleSchema>;

/** What became of one due time of a schedule. */
export const SCHEDULE_RUN_OUTCOMES = ['started', 'skipped', 'missed'] as const;
export type ScheduleRunOutcome = (typeof SCHEDULE_RUN_OUTCOMES)[number];

/** Why a run started: its due time came, a catch-up after missed times, or a person asked. */
export type ScheduleTrigger = 'due' | 'catch-up' | 'manual';

export interface ScheduleRun {
  /** The due time it stands for (ms since the epoch); for a manual run, when it was asked for. */
  dueAt: number;
  at: number;
  trigger: ScheduleTrigger;
  outcome: ScheduleRunOutcome;
  /** The job it started (null when skipped or missed). */
  jobId: string | null;
  /** The job's state now (null without a job, or when the job is gone from the store). */
  jobState: string | null;
  /** Skipped or missed: why, in words. */
  note: string | null;
}

export interface ScheduleRecord {
  /** The job's name: one schedule per name. */
  name: string;
  cron: string;
  timezone: string | null;
  catchUp: 'once' | 'none';
  overlap: 'skip' | 'allow';
  paused: boolean;
  /** The job file it was added from. */
  fileName: string;
  createdAt: number;
  updatedAt: number;
  /** The next due time (ms since the epoch); null when paused or the expression has no more. */
  nextRunAt: number | null;
  lastRun: ScheduleRun | null;
}

/** The schedule's next due time strictly after `after`, or null. */
export function nextDueAfter(spec: { cron: string; timezone?: string | null }, after: number): number | null {
  const cron = new Cron(spec.cron, { mode: CRON_MODE, timezone: spec.timezone ?? undefined, paused: true });
  return cron.nextRun(new Date(after))?.getTime() ?? null;
}

/** The schedule's latest due time at or before `at`, or null. */
export function latestDueAtOrBefore(spec: { cron: string; timezone?: string | null }, at: number): number | null {
  const cron = new Cron(spec.cron, { mode: CRON_MODE, timezone: spec.timezone ?? undefined, paused: true });
  // previousRuns looks strictly before its reference (within the same second included): a due
  // time exactly at `at` counts, so look from just after it.
  return cron.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? null;
}
