import type { z } from 'zod';

/** How a kind's input field is edited in a form. */
export type FieldControl = 'text' | 'textarea' | 'number' | 'checkbox' | 'select' | 'list' | 'json' | 'group';

export interface FieldSpec {
  /** The field's path in the task input, dotted for a group's fields: `output.path`. */
  name: string;
  control: FieldControl;
  required: boolean;
  defaultValue?: unknown;
  options?: string[];
  description?: string;
  integer?: boolean;
  min?: number;
  max?: number;
  /** The fields of a group (an object field such as `output: {path, format}`). */
  children?: FieldSpec[];
}

/** What a form holds per field before it becomes task input. */
export type FieldValue = string | boolean;

interface SchemaLike {
  def: {
    type: string;
    innerType?: SchemaLike;
    defaultValue?: unknown;
    element?: SchemaLike;
    options?: SchemaLike[];
    in?: SchemaLike;
    values?: unknown[];
    shape?: Record<string, SchemaLike>;
  };
  description?: string;
  options?: unknown;
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
}

const LONG_TEXT = /^(sql|script|query|statement|text|pattern)s?$/i;

/** The form fields of a kind, read from its zod schema, so new kinds get a form without code here. */
export function describeFields(input: z.ZodObject): FieldSpec[] {
  return Object.entries(input.shape).map(([name, schema]) => describeField(name, schema as unknown as SchemaLike));
}

/** A group's fields and the plain ones, as one flat list (what a form holds values for). */
export function leafFields(fields: readonly FieldSpec[]): FieldSpec[] {
  return fields.flatMap((field) => (field.children ? leafFields(field.children) : [field]));
}

function describeField(name: string, schema: SchemaLike): FieldSpec {
  let required = true;
  let defaultValue: unknown;
  let description = schema.description;
  let s = schema;
  for (;;) {
    const type = s.def.type;
    if (type === 'optional' || type === 'nullable') required = false;
    else if (type === 'default' || type === 'prefault') {
      required = false;
      defaultValue ??= s.def.defaultValue;
    } else if (type !== 'pipe' && type !== 'readonly') break;
    const inner = type === 'pipe' ? s.def.in : s.def.innerType;
    if (!inner) break;
    s = inner;
    description ??= s.description;
  }
  const base = { name, required, ...(defaultValue === undefined ? {} : { defaultValue }), ...(description ? { description } : {}) };
  switch (s.def.type) {
    case 'string':
      return { ...base, control: LONG_TEXT.test(name) ? 'textarea' : 'text' };
    case 'number':
      return {
        ...base,
        control: 'number',
        integer: s.isInt === true,
        ...(typeof s.minValue === 'number' && Number.isFinite(s.minValue) ? { min: s.minValue } : {}),
        ...(typeof s.maxValue === 'number' && Number.isFinite(s.maxValue) ? { max: s.maxValue } : {}),
      };
    case 'boolean':
      return { ...base, control: 'checkbox' };
    case 'enum':
      return { ...base, control: 'select', options: enumOptions(s) };
    case 'literal':
      return { ...base, control: 'select', options: (s.def.values ?? []).map(String) };
    case 'array':
      return { ...base, control: s.def.element?.def.type === 'string' ? 'list' : 'json' };
    case 'union':
      return { ...base, control: acceptsStringList(s) ? 'list' : 'json' };
    case 'object': {
      const shape = s.def.shape ?? {};
      const children = Object.entries(shape).map(([child, schema]) => describeField(`${name}.${child}`, schema));
      // Only flat groups of simple fields become sub-forms; anything deeper is edited as JSON.
      if (children.length === 0 || children.some((c) => c.control === 'group' || c.control === 'json')) return { ...base, control: 'json' };
      return { ...base, control: 'group', children };
    }
    default:
      return { ...base, control: 'json' };
  }
}

function enumOptions(s: SchemaLike): string[] {
  const options = s.options;
  return Array.isArray(options) ? options.map(String) : [];
}

/** A union of a string and a list of strings (one path or many) reads as a list. */
function acceptsStringList(s: SchemaLike): boolean {
  const options = s.def.options ?? [];
  return options.some((o) => o.def.type === 'array' && o.def.element?.def.type === 'string') && options.every((o) => o.def.type === 'string' || o.def.type === 'array');
}

/** The starting value of a field in a form. */
export function initialValue(field: FieldSpec): FieldValue {
  const d = field.defaultValue;
  if (field.control === 'checkbox') return d === true;
  if (d === undefined || d === null) return field.control === 'select' && field.required ? (field.options?.[0] ?? '') : '';
  if (field.control === 'list') return Array.isArray(d) ? d.join('\n') : String(d);
  if (field.control === 'json') return JSON.stringify(d, null, 2);
  return String(d);
}

export type ConvertedField = { ok: true; value: unknown } | { ok: true; omit: true } | { ok: false; message: string };

export interface ConvertedInput {
  input: Record<string, unknown>;
  /** Fields whose text could not be read, by field name. */
  problems: Array<{ name: string; message: string }>;
}

/** A form's values (by field name, dotted inside groups) as a kind's input. */
export function convertFields(fields: readonly FieldSpec[], values: Readonly<Record<string, FieldValue>>): ConvertedInput {
  const input: Record<string, unknown> = {};
  const problems: ConvertedInput['problems'] = [];
  for (const field of fields) {
    const key = field.name.slice(field.name.lastIndexOf('.') + 1);
    if (field.children) {
      // An optional group left as it was is left out; a started one is checked as a whole.
      const touched = leafFields(field.children).some((leaf) => (values[leaf.name] ?? initialValue(leaf)) !== initialValue(leaf));
      if (!touched && !field.required) continue;
      const group = convertFields(field.children, values);
      problems.push(...group.problems);
      input[key] = group.input;
      continue;
    }
    const converted = convertField(field, values[field.name] ?? '');
    if (!converted.ok) problems.push({ name: field.name, message: converted.message });
    else if (!('omit' in converted)) input[key] = converted.value;
  }
  return { input, problems };
}

/**
 * A form value as task input. Empty optional fields are left out, so the kind's defaults
 * apply; what cannot be read (bad JSON) is an error for the field; everything else is checked
 * by the job schema, which gives the same messages as the CLI.
 */
export function convertField(field: FieldSpec, raw: FieldValue): ConvertedField {
  if (field.control === 'checkbox') return { ok: true, value: raw === true };
  const text = typeof raw === 'string' ? raw : '';
  if (text.trim() === '') return field.required && field.control !== 'number' && field.control !== 'list' ? { ok: true, value: text } : { ok: true, omit: true };
  switch (field.control) {
    case 'number': {
      const n = Number(text);
      return { ok: true, value: Number.isFinite(n) ? n : text };
    }
    case 'list':
      return {
        ok: true,
        value: text
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== ''),
      };
    case 'json':
      try {
        return { ok: true, value: JSON.parse(text) };
      } catch (error) {
        return { ok: false, message: `not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
      }
    default:
      return { ok: true, value: text };
  }
}
