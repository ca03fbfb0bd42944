import type { JobRecord } from '../../../contract/records';
import { useTaskActions } from './use-task-actions';

/**
 * What can be done to a job from the jobs list: cancel it while it runs, run it again once it
 * ended. The list item around it names the job.
 */
export function JobActions({ job }: { job: Pick<JobRecord, 'id' | 'state'> }) {
  const actions = useTaskActions();
  if (job.state === 'running') {
    return (
      <div className="job-actions">
        <button type="button" className="small danger" onClick={() => actions.cancelJob(job.id)}>
          Cancel job
        </button>
      </div>
    );
  }
  return (
    <div className="job-actions">
      <button type="button" className="small" onClick={() => actions.rerunJob(job.id, false)}>
        Run again
      </button>
      {job.state !== 'succeeded' && (
        <button
          type="button"
          className="small"
          onClick={() => actions.rerunJob(job.id, true)}
          title="Only the tasks that did not succeed, and those that depend on them"
        >
          Re-run failed
        </button>
      )}
    </div>
  );
}
