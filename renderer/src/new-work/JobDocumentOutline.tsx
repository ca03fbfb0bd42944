import type { SpecIssue } from '../../../contract/job-spec';
import { cellText } from '../detail/result-rows';
import { groupIssues } from './issue-paths';

/** Tasks listed in full before the outline shows only those with problems. */
const TASKS_SHOWN = 8;

export interface JobDocumentOutlineProps {
  document: unknown;
  issues: readonly SpecIssue[];
}

/** A job file laid out field by field, each problem shown at the field it concerns. */
export function JobDocumentOutline({ document, issues }: JobDocumentOutlineProps) {
  const byPlace = groupIssues(issues, (at) => (at.task === null ? `job:${at.field}` : `task:${at.task}:${at.field}`));
  const job = isRecord(document) ? document : null;
  // With no document to outline (text that did not parse, or YAML nested too deep to read), every issue is the whole file's.
  const whole = job ? (byPlace.get('job:') ?? []) : issues;
  const tasks = job && Array.isArray(job.tasks) ? (job.tasks as unknown[]) : [];
  const jobFields = unique([...(job ? Object.keys(job).filter((k) => k !== 'tasks') : []), ...keysWithIssues(byPlace, 'job:').filter((k) => k !== '' && k !== 'tasks')]);
  const taskIssueIndexes = new Set<number>();
  for (const key of byPlace.keys()) if (key.startsWith('task:')) taskIssueIndexes.add(Number(key.split(':')[1]));
  const shown = [...new Set([...tasks.keys()].filter((i) => i < TASKS_SHOWN).concat([...taskIssueIndexes]))].sort((a, b) => a - b);

  return (
    <div className="outline">
      {whole.length > 0 && <Problems path="" issues={whole} />}
      {job && (
        <ul className="outline-fields">
          {jobFields.map((field) => (
            <OutlineField key={field} path={field} name={field} value={job[field]} present={field in job} issues={byPlace.get(`job:${field}`)} />
          ))}
          <li className={byPlace.has('job:tasks') ? 'outline-field invalid' : 'outline-field'} data-field-path="tasks" aria-invalid={byPlace.has('job:tasks')}>
            <span className="outline-key">tasks</span> <span className="muted">{tasks.length.toLocaleString('en-US')} entries</span>
            {byPlace.has('job:tasks') && <Problems path="tasks" issues={byPlace.get('job:tasks')!} />}
          </li>
        </ul>
      )}
      {shown.map((index, i) => {
        const task = tasks[index];
        const gap = i > 0 ? index - shown[i - 1]! - 1 : index;
        const fields = unique([...(isRecord(task) ? Object.keys(task) : []), ...keysWithIssues(byPlace, `task:${index}:`).filter((k) => k !== '')]);
        const own = byPlace.get(`task:${index}:`) ?? [];
        return (
          <div key={index} className="outline-task">
            {gap > 0 && <p className="muted">… {gap.toLocaleString('en-US')} more task{gap === 1 ? '' : 's'} without problems</p>}
            <h4 data-field-path={`tasks[${index}]`}>
              tasks[{index}]{isRecord(task) && typeof task.id === 'string' ? ` · ${task.id}` : ''}
              {isRecord(task) && typeof task.kind === 'string' ? ` · ${task.kind}` : ''}
            </h4>
            {own.length > 0 && <Problems path={`tasks[${index}]`} issues={own} />}
            <ul className="outline-fields">
              {fields.map((field) => (
                <OutlineField
                  key={field}
                  path={`tasks[${index}].${field}`}
                  name={field}
                  value={isRecord(task) ? task[field] : undefined}
                  present={isRecord(task) && field in task}
                  issues={byPlace.get(`task:${index}:${field}`)}
                />
              ))}
            </ul>
          </div>
        );
      })}
      {tasks.length > 0 && shown.length > 0 && shown[shown.length - 1]! < tasks.length - 1 && (
        <p className="muted">… {(tasks.length - 1 - shown[shown.length - 1]!).toLocaleString('en-US')} more tasks without problems</p>
      )}
    </div>
  );
}

function OutlineField({ path, name, value, present, issues }: { path: string; name: string; value: unknown; present: boolean; issues?: SpecIssue[] }) {
  const invalid = issues !== undefined && issues.length > 0;
  return (
    <li className={invalid ? 'outline-field invalid' : 'outline-field'} data-field-path={path} aria-invalid={invalid}>
      <span className="outline-key">{name}</span> <span className={present ? 'mono' : 'muted'}>{present ? cellText(value, 120) : '(missing)'}</span>
      {invalid && <Problems path={path} issues={issues} />}
    </li>
  );
}

function Problems({ path, issues }: { path: string; issues: readonly SpecIssue[] }) {
  return (
    <p className="field-error" role="alert" data-issue-path={path}>
      {issues.map((issue) => issueText(issue, path)).join('; ')}
    </p>
  );
}

/** The message, led by the part of the issue's path below the field shown (e.g. `[0]` of `dependsOn[0]`). */
function issueText(issue: SpecIssue, path: string): string {
  if (issue.path === path) return issue.message;
  if (path !== '' && issue.path.startsWith(path)) return `${issue.path.slice(path.length).replace(/^\./, '')}: ${issue.message}`;
  return `${issue.path}: ${issue.message}`;
}

function keysWithIssues(byPlace: Map<string, SpecIssue[]>, prefix: string): string[] {
  return [...byPlace.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
