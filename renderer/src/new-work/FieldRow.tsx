import { useId, type ReactNode } from 'react';
import type { SpecIssue } from '../../../contract/job-spec';

export interface FieldRowProps {
  label: string;
  /** The job-document path this field stands for, e.g. `tasks[0].sql`. */
  path: string;
  issues?: readonly SpecIssue[];
  hint?: string;
  required?: boolean;
  children: (control: { id: string; invalid: boolean; describedBy: string | undefined }) => ReactNode;
}

/** A labelled form field with its validation messages right under it. */
export function FieldRow({ label, path, issues = [], hint, required, children }: FieldRowProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const invalid = issues.length > 0;
  const describedBy = [invalid ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={invalid ? 'field invalid' : 'field'} data-field-path={path}>
      <label htmlFor={id}>
        {label}
        {required && <span className="required" aria-hidden="true"> *</span>}
      </label>
      {children({ id, invalid, describedBy })}
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {invalid && (
        <p className="field-error" id={errorId} role="alert">
          {issues.map((issue) => issue.message).join('; ')}
        </p>
      )}
    </div>
  );
}
