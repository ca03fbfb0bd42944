import { useMemo, useState, type FormEvent } from 'react';
import { ApiCallError } from '../../../contract/api';
import { validateJobSpec, type SpecIssue } from '../../../contract/job-spec';
import { KINDS, type KindSpec } from '../../../contract/kinds/index';
import { useDashboard } from '../app/dashboard-context';
import { nativePickers, type NativePickers } from '../app/native-pickers';
import { describeError, useNotices } from '../app/notices';
import { convertFields, describeFields, initialValue, leafFields, type FieldSpec, type FieldValue } from './field-spec';
import { FieldRow } from './FieldRow';
import { groupIssues } from './issue-paths';

export interface KindTaskFormProps {
  /** Name prefixes of the kinds the form offers, e.g. `['sql.', 'csv.']`. */
  families: readonly string[];
  title: string;
  /** What the kind chooser is called, e.g. "Operation". */
  kindLabel: string;
  defaultJobName: string;
}

const JOB_NAME = '@name';

/**
 * A form for one task of a family of kinds. The fields come from the kind's schema in the
 * contract, and the job it makes is checked with the same rules as a job file.
 */
export function KindTaskForm({ families, title, kindLabel, defaultJobName }: KindTaskFormProps) {
  const kinds = useMemo(() => KINDS.filter((kind) => families.some((prefix) => kind.name.startsWith(prefix))), [families]);
  if (kinds.length === 0) {
    return (
      <section className="form-section" aria-label={title}>
        <h3>{title}</h3>
        <p className="muted">This build of Threadline has no {families.map((f) => `${f}*`).join(' or ')} task kinds.</p>
      </section>
    );
  }
  return <FormForKinds kinds={kinds} title={title} kindLabel={kindLabel} defaultJobName={defaultJobName} />;
}

interface FormForKindsProps {
  kinds: KindSpec[];
  title: string;
  kindLabel: string;
  defaultJobName: string;
}

function FormForKinds({ kinds, title, kindLabel, defaultJobName }: FormForKindsProps) {
  const { api } = useDashboard();
  const { watchJob } = useNotices();
  const pickers = useMemo(() => nativePickers(api), [api]);
  const [kindName, setKindName] = useState(kinds[0]!.name);
  const kind = kinds.find((k) => k.name === kindName) ?? kinds[0]!;
  const fields = useMemo(() => describeFields(kind.input), [kind]);
  const [values, setValues] = useState<Record<string, FieldValue>>(() => initialValues(fields));
  const [jobName, setJobName] = useState(defaultJobName);
  const [timeoutMs, setTimeoutMs] = useState('');
  const [issues, setIssues] = useState<SpecIssue[]>([]);
  const [busy, setBusy] = useState(false);

  const fieldNames = useMemo(() => new Set(['kind', 'timeoutMs', ...leafFields(fields).map((f) => f.name), ...fields.map((f) => f.name)]), [fields]);
  // An issue belongs to the most specific field the form shows: `output.path`, else `output`.
  const byField = groupIssues(issues, (at) => {
    if (at.task === null) return at.field === 'name' ? JOB_NAME : '';
    if (at.task !== 0) return '';
    const nested = `${at.field}${at.rest}`;
    return fieldNames.has(nested) ? nested : fieldNames.has(at.field) ? at.field : '';
  });
  const general = byField.get('') ?? [];

  const chooseKind = (name: string): void => {
    setKindName(name);
    const next = kinds.find((k) => k.name === name);
    if (next) setValues(initialValues(describeFields(next.input)));
    setIssues([]);
  };

  const setValue = (name: string, value: FieldValue): void => setValues((all) => ({ ...all, [name]: value }));

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const { input, problems } = convertFields(fields, values);
    const local = problems.map((p) => ({ path: `tasks[0].${p.name}`, message: p.message }));
    const task: Record<string, unknown> = { id: taskIdFor(kind.name), kind: kind.name, ...input };
    if (timeoutMs.trim() !== '') task.timeoutMs = Number(timeoutMs);
    const document = { name: jobName, tasks: [task] };
    const checked = validateJobSpec(document);
    if (local.length > 0 || !checked.ok) {
      setIssues([...local, ...(checked.ok ? [] : checked.issues)]);
      return;
    }
    setBusy(true);
    try {
      const result = await api.submitJob({ text: JSON.stringify(document), fileName: `${jobName || 'form'}.json` });
      if (result.ok) {
        setIssues([]);
        watchJob(result.job, title);
      } else setIssues(result.issues);
    } catch (error) {
      setIssues(error instanceof ApiCallError && error.issues.length > 0 ? error.issues : [{ path: '', message: describeError(error) }]);
    } finally {
      setBusy(false);
    }
  };

  const renderField = (field: FieldSpec) =>
    field.children ? (
      <fieldset key={`${kind.name}.${field.name}`} className="field-group" data-field-path={`tasks[0].${field.name}`}>
        <legend>
          {field.name}
          {!field.required && <span className="muted"> (optional)</span>}
        </legend>
        {field.description && <p className="field-hint">{field.description}</p>}
        {(byField.get(field.name) ?? []).length > 0 && (
          <p className="field-error" role="alert">
            {byField.get(field.name)!.map((issue) => issue.message).join('; ')}
          </p>
        )}
        {field.children.map(renderField)}
      </fieldset>
    ) : (
      <FieldRow
        key={`${kind.name}.${field.name}`}
        label={field.name.slice(field.name.lastIndexOf('.') + 1)}
        path={`tasks[0].${field.name}`}
        issues={byField.get(field.name)}
        hint={field.description}
        required={field.required}
      >
        {(control) => (
          <div className="control-line">
            <FieldControlInput field={field} value={values[field.name] ?? ''} onChange={(v) => setValue(field.name, v)} {...control} />
            <PickerButton field={field} pickers={pickers} value={values[field.name] ?? ''} onPick={(v) => setValue(field.name, v)} />
          </div>
        )}
      </FieldRow>
    );

  return (
    <form className="form-section" aria-label={title} onSubmit={(e) => void submit(e)} noValidate>
      <h3>{title}</h3>
      <FieldRow label={kindLabel} path="tasks[0].kind" issues={byField.get('kind')} hint={kind.summary}>
        {({ id }) => (
          <select id={id} value={kind.name} onChange={(e) => chooseKind(e.target.value)}>
            {kinds.map((k) => (
              <option key={k.name} value={k.name}>
                {k.name}
              </option>
            ))}
          </select>
        )}
      </FieldRow>
      {fields.map(renderField)}
      <details className="advanced">
        <summary>Job options</summary>
        <FieldRow label="job name" path="name" issues={byField.get(JOB_NAME)} required>
          {({ id, invalid, describedBy }) => (
            <input id={id} value={jobName} aria-invalid={invalid} aria-describedby={describedBy} onChange={(e) => setJobName(e.target.value)} />
          )}
        </FieldRow>
        <FieldRow label="timeoutMs" path="tasks[0].timeoutMs" issues={byField.get('timeoutMs')} hint="Cancel the task after this many milliseconds.">
          {({ id, invalid, describedBy }) => (
            <input id={id} type="number" min={1} value={timeoutMs} aria-invalid={invalid} aria-describedby={describedBy} onChange={(e) => setTimeoutMs(e.target.value)} />
          )}
        </FieldRow>
      </details>
      {general.length > 0 && (
        <p className="field-error" role="alert">
          {general.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ')}
        </p>
      )}
      <p className="field-hint">Relative paths resolve against the folder the Threadline host was started in.</p>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Starting…' : 'Start'}
      </button>
    </form>
  );
}

interface FieldControlInputProps {
  field: FieldSpec;
  value: FieldValue;
  onChange: (value: FieldValue) => void;
  id: string;
  invalid: boolean;
  describedBy: string | undefined;
}

function FieldControlInput({ field, value, onChange, id, invalid, describedBy }: FieldControlInputProps) {
  const common = { id, 'aria-invalid': invalid, 'aria-describedby': describedBy } as const;
  switch (field.control) {
    case 'checkbox':
      return <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
    case 'number':
      return (
        <input
          {...common}
          type="number"
          value={String(value)}
          step={field.integer ? 1 : 'any'}
          min={field.min}
          max={field.max}
          onChange={(e) => onChange(e.target.value)}
        />
      );
    case 'select':
      return (
        <select {...common} value={String(value)} onChange={(e) => onChange(e.target.value)}>
          {!field.required && <option value="">(default)</option>}
          {(field.options ?? []).map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      );
    case 'textarea':
    case 'json':
      return (
        <textarea
          {...common}
          className="mono"
          rows={field.control === 'json' ? 2 : 5}
          placeholder={field.control === 'json' ? 'JSON' : undefined}
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          spellCheck={false}
        />
      );
    case 'list':
      return (
        <textarea
          {...common}
          className="mono"
          rows={3}
          placeholder="one path or glob per line"
          value={String(value)}
          onChange={(e) => onChange(e.target.value)}
          spellCheck={false}
        />
      );
    default:
      return <input {...common} type="text" className="mono" value={String(value)} onChange={(e) => onChange(e.target.value)} spellCheck={false} />;
  }
}

/** "Choose…" beside a path field, where the host has native dialogs. */
function PickerButton({ field, pickers, value, onPick }: { field: FieldSpec; pickers: NativePickers; value: FieldValue; onPick: (value: string) => void }) {
  const { failed } = useNotices();
  const leaf = field.name.slice(field.name.lastIndexOf('.') + 1);
  let pick: (() => Promise<string | null>) | null = null;
  if (leaf === 'db' && pickers.pickDatabase) {
    const pickDatabase = pickers.pickDatabase;
    pick = async () => (await pickDatabase()).path;
  } else if ((field.control === 'list' || leaf === 'file') && pickers.pickFiles) {
    const pickFiles = pickers.pickFiles;
    pick = async () => {
      const { paths } = await pickFiles();
      if (paths.length === 0) return null;
      if (field.control !== 'list') return paths[0]!;
      const before = typeof value === 'string' && value.trim() !== '' ? `${value.trimEnd()}\n` : '';
      return before + paths.join('\n');
    };
  }
  if (!pick) return null;
  const run = pick;
  return (
    <button
      type="button"
      className="small"
      onClick={() =>
        run().then(
          (picked) => picked !== null && onPick(picked),
          (error: unknown) => failed(`Choose ${leaf}`, error),
        )
      }
    >
      Choose…
    </button>
  );
}

function initialValues(fields: FieldSpec[]): Record<string, FieldValue> {
  return Object.fromEntries(leafFields(fields).map((field) => [field.name, initialValue(field)]));
}

/** A task id that says what the task is: `query`, `hash`, … */
function taskIdFor(kindName: string): string {
  return kindName.slice(kindName.indexOf('.') + 1).replace(/[^\w.-]/g, '-') || 'task';
}
