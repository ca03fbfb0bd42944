import type { TaskState } from '../../contract/task-states';

/** One colour per task state, shared by the timeline's bars and the table's badges. */
export const STATE_COLORS: Record<TaskState, string> = {
  queued: '#64748b',
  running: '#3b82f6',
  cancelling: '#f59e0b',
  succeeded: '#22c55e',
  failed: '#ef4444',
  cancelled: '#a1a1aa',
  timed_out: '#f97316',
  skipped: '#52525b',
  interrupted: '#a855f7',
};

/** What a state is called on screen. */
export function stateLabel(state: TaskState): string {
  return state === 'timed_out' ? 'timed out' : state;
}
