import { useCallback, useEffect, useState } from 'react';
import type { ScheduleRecord, ScheduleRun } from '../../../contract/schedule';
import { useDashboard } from '../app/dashboard-context';
import { useNotices } from '../app/notices';
import { closeDirectionControls } from '../format';

/** Schedules change rarely and the host owns them: a look every few seconds keeps the panel true. */
const REFRESH_MS = 3000;

/** A date and time in the schedule's zone (else the viewer's), e.g. "27 Nov, 02:00:00 GMT+1". */
export function formatScheduleTime(ms: number, timezone: string | null): string {
  return new Intl.DateTimeFormat(undefined, {
    timeZone: timezone ?? undefined,
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(ms));
}

/** What became of the last run, in words: its job's state, or skipped / missed, and why it ran. */
export function lastOutcome(run: ScheduleRun | null): string {
  if (!run) return 'not run yet';
  const what = run.outcome === 'started' ? (run.jobState ?? 'started') : run.outcome;
  return run.trigger === 'due' ? what : `${what} (${run.trigger})`;
}

/** The store's schedules: next run, last outcome, and pause, resume, run now, remove. */
export function SchedulesPanel() {
  const { api } = useDashboard();
  const { notify, failed } = useNotices();
  const [schedules, setSchedules] = useState<ScheduleRecord[] | null>(null);
  const [unavailable, setUnavailable] = useState<string | null>(null);
  /** The schedule whose removal waits for a confirmation. */
  const [confirming, setConfirming] = useState<string | null>(null);

  const refresh = useCallback(() => {
    api.listSchedules().then(
      ({ schedules: list }) => {
        setSchedules(list);
        setUnavailable(null);
      },
      (error: unknown) => setUnavailable(error instanceof Error ? error.message : String(error)),
    );
  }, [api]);

  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  const act = (what: string, name: string, call: () => Promise<unknown>, done: (value: unknown) => string) => {
    call().then(
      (value) => {
        notify(done(value));
        refresh();
      },
      (error: unknown) => failed(`${what} ${closeDirectionControls(name)}`, error),
    );
  };

  return (
    <section className="panel schedules-panel" aria-labelledby="schedules-heading">
      <header className="panel-header">
        <h2 id="schedules-heading">Schedules</h2>
      </header>
      {unavailable && <p className="empty">Schedules cannot be read: {unavailable}</p>}
      {schedules?.length === 0 && (
        <p className="empty">
          No schedules. Add a job file with a <code>schedule</code> field: <code>threadline schedule add nightly.yaml</code>.
        </p>
      )}
      <ul className="jobs" aria-label="Schedule list">
        {schedules?.map((schedule) => {
          const { name } = schedule;
          // The name as it goes into our sentences (notices), its direction overrides closed.
          const said = closeDirectionControls(name);
          return (
            <li key={name} className="job" aria-label={`Schedule ${name}`} data-schedule={name}>
              <div className="job-title">
                <strong>{name}</strong>
                <span className="job-state">{schedule.paused ? 'paused' : 'active'}</span>
              </div>
              <div className="job-meta">
                <code>{schedule.cron}</code> · {schedule.timezone ?? 'local time'}
              </div>
              <div className="job-meta">
                Next run:{' '}
                {schedule.nextRunAt === null ? (
                  schedule.paused ? 'none while paused' : 'none'
                ) : (
                  <time dateTime={new Date(schedule.nextRunAt).toISOString()}>{formatScheduleTime(schedule.nextRunAt, schedule.timezone)}</time>
                )}
              </div>
              <div className="job-meta">
                Last run:{' '}
                {schedule.lastRun && (
                  <>
                    <time dateTime={new Date(schedule.lastRun.at).toISOString()}>{formatScheduleTime(schedule.lastRun.at, schedule.timezone)}</time>,{' '}
                  </>
                )}
                <span title={schedule.lastRun?.note ?? undefined}>{lastOutcome(schedule.lastRun)}</span>
                {schedule.lastRun?.jobId && (
                  <>
                    {' '}
                    · job <span className="mono">{schedule.lastRun.jobId}</span>
                  </>
                )}
              </div>
              <div className="toolbar" role="group" aria-label={`Actions for schedule ${name}`}>
                {schedule.paused ? (
                  <button type="button" className="small" onClick={() => act('Resume', name, () => api.resumeSchedule({ name }), () => `Resumed ${said}`)}>
                    Resume<span className="visually-hidden"> {name}</span>
                  </button>
                ) : (
                  <button type="button" className="small" onClick={() => act('Pause', name, () => api.pauseSchedule({ name }), () => `Paused ${said}`)}>
                    Pause<span className="visually-hidden"> {name}</span>
                  </button>
                )}
                <button
                  type="button"
                  className="small"
                  onClick={() =>
                    act('Run', name, () => api.runSchedule({ name }), (value) => {
                      const { run } = value as { run: ScheduleRun };
                      return run.outcome === 'started' ? `Started ${said} (job ${run.jobId})` : `${said}: ${run.outcome}${run.note ? `: ${run.note}` : ''}`;
                    })
                  }
                >
                  Run now<span className="visually-hidden"> {name}</span>
                </button>
                {confirming === name ? (
                  <>
                    <button
                      type="button"
                      className="small danger"
                      autoFocus
                      onClick={() => {
                        setConfirming(null);
                        act('Remove', name, () => api.removeSchedule({ name }), () => `Removed ${said}`);
                      }}
                    >
                      Really remove {name}
                    </button>
                    <button type="button" className="small" onClick={() => setConfirming(null)}>
                      Keep<span className="visually-hidden"> {name}</span>
                    </button>
                  </>
                ) : (
                  <button type="button" className="small danger" onClick={() => setConfirming(name)}>
                    Remove<span className="visually-hidden"> {name}</span>
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
