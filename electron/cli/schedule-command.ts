/**
 * `threadline schedule add|list|remove|pause|resume`: through the host (`threadline serve` or the
 * desktop app) running on the data directory when there is one (it answers at once), else on the
 * job store directly (a desktop app without its API reads its schedules afresh every second).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiCallError, type ThreadlineApi } from '../../contract/api.js';
import type { ScheduleRecord, ScheduleRun } from '../../contract/schedule.js';
import { jobFileError } from '../engine/errors.js';
import { loadJobFile } from '../engine/job-file.js';
import { JobStore, STORE_FILE } from '../engine/job-store.js';
import { ScheduleStore } from '../schedules/schedule-store.js';
import { findRunningServe } from '../serve/serve-info.js';
import { CliError } from './cli-error.js';
import { connectServe } from './host-link.js';
import { dataDirOf } from './options.js';
import type { Output } from './run-command.js';
import { oneLine } from './terminal-text.js';

export interface ScheduleCommandOptions {
  dataDir?: string;
  json?: boolean;
}

/** Who carries out a schedule command: the running host's API, or the store itself. */
type Target = { host: ThreadlineApi; hostUrl: string } | { store: ScheduleStore };

async function withTarget<T>(dataDir: string, work: (target: Target) => Promise<T> | T, options: { createStore: boolean }): Promise<T | null> {
  const found = findRunningServe(dataDir);
  if (found.ok) {
    const { host, port } = found.info;
    const client = await connectServe(found.info);
    try {
      return await work({ host: client.api, hostUrl: `${host}:${port}` });
    } catch (error) {
      if (error instanceof ApiCallError) throw new CliError(error.message);
      throw error;
    } finally {
      await client.close();
    }
  }
  if (!options.createStore && !existsSync(join(dataDir, STORE_FILE))) return null;
  const store = new JobStore(dataDir);
  try {
    return await work({ store: new ScheduleStore(store.db) });
  } finally {
    store.close();
  }
}

function noSchedule(name: string): CliError {
  return new CliError(`no schedule ${JSON.stringify(name)} (threadline schedule list shows them)`);
}

/** A time as a person reads it, in the schedule's zone (else the machine's), with its offset. */
export function formatWhen(ms: number | null, timezone: string | null): string {
  if (ms === null) return '';
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone ?? undefined,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    hourCycle: 'h23', timeZoneName: 'shortOffset',
  }).formatToParts(new Date(ms));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')} ${part('timeZoneName')}`;
}

/** What became of a run, in a word or two. */
export function runOutcome(run: ScheduleRun | null): string {
  if (!run) return '';
  const what = run.outcome === 'started' ? (run.jobState ?? 'started') : run.outcome;
  return run.trigger === 'due' ? what : `${what} (${run.trigger})`;
}

function describe(record: ScheduleRecord): string {
  const next = record.paused ? 'paused' : record.nextRunAt === null ? 'no next run' : `next run ${formatWhen(record.nextRunAt, record.timezone)}`;
  // One line: the name and cron as `oneLine` prints them.
  const zone = record.timezone ? `, ${oneLine(record.timezone)}` : '';
  return `"${oneLine(record.name)}" (${oneLine(record.cron)}${zone}); ${next}`;
}

export async function addSchedule(file: string, options: ScheduleCommandOptions, io: Output): Promise<number> {
  const dataDir = dataDirOf(options);
  // Checked here first, so that a bad file is refused with the name the person typed.
  const loaded = await loadJobFile(file);
  if (!loaded.spec.schedule) throw jobFileError(file, 'schedule', 'missing; expected { cron, timezone?, catchUp?, overlap? } to add the job as a schedule');
  const outcome = await withTarget(
    dataDir,
    async (target) => {
      if ('host' in target) {
        const text = await readFile(loaded.file, 'utf8');
        const added = await target.host.addSchedule({ text, fileName: loaded.file, baseDir: loaded.baseDir });
        if (!added.ok) throw jobFileError(file, added.issues[0]?.path ?? '', added.issues[0]?.message ?? 'refused');
        return { replaced: added.replaced, schedule: added.schedule };
      }
      const now = Date.now();
      const spec = { ...loaded.spec, schedule: loaded.spec.schedule! };
      const { replaced } = target.store.put(spec, loaded.file, loaded.baseDir, now);
      return { replaced, schedule: target.store.record(target.store.get(spec.name)!, now) };
    },
    { createStore: true },
  );
  const { replaced, schedule } = outcome!;
  if (options.json) io.out(JSON.stringify({ replaced, schedule }, null, 2));
  else io.out(`${replaced ? 'replaced the existing schedule' : 'added schedule'} ${describe(schedule)}`);
  return 0;
}

export async function listSchedules(options: ScheduleCommandOptions, io: Output): Promise<number> {
  const schedules =
    (await withTarget(
      dataDirOf(options),
      async (target) => {
        if ('host' in target) return (await target.host.listSchedules()).schedules;
        const now = Date.now();
        return target.store.list().map((stored) => target.store.record(stored, now));
      },
      { createStore: false },
    )) ?? [];
  if (options.json) {
    io.out(JSON.stringify(schedules, null, 2));
    return 0;
  }
  if (schedules.length === 0) {
    io.out('no schedules yet (add one with "threadline schedule add <jobfile>")');
    return 0;
  }
  const { table } = await import('./task-table.js');
  io.out(
    table(
      ['NAME', 'CRON', 'TIMEZONE', 'STATE', 'NEXT RUN', 'LAST RUN', 'OUTCOME'],
      schedules.map((s) => [
        s.name,
        s.cron,
        s.timezone ?? 'local',
        s.paused ? 'paused' : 'active',
        formatWhen(s.nextRunAt, s.timezone),
        formatWhen(s.lastRun?.at ?? null, s.timezone),
        runOutcome(s.lastRun),
      ]),
    ),
  );
  return 0;
}

export async function removeSchedule(name: string, options: ScheduleCommandOptions, io: Output): Promise<number> {
  const removed = await withTarget(
    dataDirOf(options),
    async (target) => {
      if ('host' in target) {
        await target.host.removeSchedule({ name });
        return true;
      }
      return target.store.remove(name);
    },
    { createStore: false },
  );
  if (!removed) throw noSchedule(name);
  io.out(`removed schedule "${oneLine(name)}" (the jobs it ran stay in the history)`);
  return 0;
}

export async function setPaused(name: string, paused: boolean, options: ScheduleCommandOptions, io: Output): Promise<number> {
  const schedule = await withTarget(
    dataDirOf(options),
    async (target) => {
      if ('host' in target) return (await target.host[paused ? 'pauseSchedule' : 'resumeSchedule']({ name })).schedule;
      const now = Date.now();
      if (!target.store.setPaused(name, paused, now)) return null;
      return target.store.record(target.store.get(name)!, now);
    },
    { createStore: false },
  );
  if (!schedule) throw noSchedule(name);
  io.out(`${paused ? 'paused' : 'resumed'} schedule ${describe(schedule)}`);
  return 0;
}

