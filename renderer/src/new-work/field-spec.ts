import type { z } from 'zod';

/** How a kind's input field is edited in a form. */
export type FieldControl = 'text' | 'textarea' | 'number' | 'checkbox' | 'select' | 'list' | 'json';

export interface FieldSpec {
  name: string;
  control: FieldControl;
  required: boolean;
  defaultValue?: unknown;
  options?: string[];
  description?: string;
  integer?: boolean;
  min?: number;
  max?: number;
}

/** What a form holds per field before it becomes task input. */
export type FieldValue = string | boolean;

interface SchemaLike {
  def: { type: string; innerType?: SchemaLike; defaultValue?: unknown; element?: SchemaLike; options?: SchemaLike[]; in?: SchemaLike; values?: unknown[] };
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
