import type { SpecIssue } from '../../../contract/job-spec';

/** Where in a job document an issue points: a task (by index) and its field, or a job field. */
export interface IssueLocation {
  /** The task's index, or null for the job itself. */
  task: number | null;
  /** The field, e.g. `ms` or `dependsOn`; empty for the whole task or document. */
  field: string;
  /** What follows the field, e.g. `[0]` of `dependsOn[0]`. */
  rest: string;
}

const TASK_PATH = /^tasks\[(\d+)\](?:\.([^.[]+))?(.*)$/;
const JOB_PATH = /^([^.[]+)(.*)$/;

export function locateIssue(path: string): IssueLocation {
  const task = TASK_PATH.exec(path);
  if (task) return { task: Number(task[1]), field: task[2] ?? '', rest: task[3] ?? '' };
  const job = JOB_PATH.exec(path);
  if (job) return { task: null, field: job[1]!, rest: job[2] ?? '' };
  return { task: null, field: '', rest: '' };
}

/** Issues grouped by the field they belong to; `key` names the field. */
export function groupIssues(issues: readonly SpecIssue[], key: (location: IssueLocation) => string): Map<string, SpecIssue[]> {
  const out = new Map<string, SpecIssue[]>();
  for (const issue of issues) {
    const k = key(locateIssue(issue.path));
    let list = out.get(k);
    if (!list) out.set(k, (list = []));
    list.push(issue);
  }
  return out;
}
