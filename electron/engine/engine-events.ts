import type { HostNotice } from '../../contract/api.js';
import type { TaskLogLine } from '../../contract/records.js';
import type { JobView } from './job.js';
import type { TaskView } from './task.js';
import type { TelemetrySample } from './telemetry.js';

export interface EngineEvents {
  /** A task changed state or progress. The view is live: copy what you keep. */
  task: [task: TaskView];
  job: [job: JobView];
  log: [line: TaskLogLine];
  telemetry: [sample: TelemetrySample];
  /** What people should see until it clears (a store that cannot be written); the whole list. */
  notices: [notices: HostNotice[]];
}
