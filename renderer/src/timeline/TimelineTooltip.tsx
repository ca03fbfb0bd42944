import { formatDuration } from '../format';
import { stateLabel } from '../state-colors';
import type { DashboardStore } from '../store/dashboard-store';
import type { TimelineBar } from './timeline-index';
import { laneLabel } from './timeline-layout';

export interface TimelineTooltipProps {
  store: DashboardStore;
  bar: TimelineBar;
  x: number;
  y: number;
  /** The timeline's width: past its middle the tooltip opens to the left, so it never leaves the page. */
  width: number;
  now: number;
}

/** What a bar is: its task, kind, job, thread, queue wait and run time. */
export function TimelineTooltip({ store, bar, x, y, width, now }: TimelineTooltipProps) {
  const task = store.tasks.get(bar.taskKey);
  const job = task ? store.jobs.get(task.jobId) : undefined;
  const lane = store.timeline.lane(bar.laneId);
  const run = (bar.end ?? now) - bar.start;
  return (
    <div className="timeline-tooltip" role="tooltip" style={x > width / 2 ? { right: width - x + 14, top: y + 14 } : { left: x + 14, top: y + 14 }}>
      <div className="tooltip-title">{task?.id ?? bar.taskKey}</div>
      <dl>
        <dt>kind</dt>
        <dd>{task?.kind ?? '–'}</dd>
        <dt>job</dt>
        <dd>{job ? job.name : (task?.jobId ?? '–')}</dd>
        <dt>worker</dt>
        <dd>{lane ? laneLabel(lane) : bar.laneId}</dd>
        <dt>state</dt>
        <dd>
          {stateLabel(bar.state)}
          {bar.attempt > 1 ? ` (attempt ${bar.attempt})` : ''}
        </dd>
        <dt>wait</dt>
        <dd>{bar.waitStart < bar.start ? formatDuration(bar.start - bar.waitStart) : '–'}</dd>
        <dt>run</dt>
        <dd>
          {formatDuration(run)}
          {bar.end === null ? ' so far' : ''}
        </dd>
      </dl>
    </div>
  );
}
