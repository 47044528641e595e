import type { JsonSchema } from '../../../shared/api-contract.ts';

/**
 * A procedure's input as a form: the JSON Schema constructs zod's `toJSONSchema` writes for
 * Pulse's inputs, each mapped to a field that holds what the user typed. Anything else (records,
 * tuples, intersections, references, `{}`) becomes a raw-JSON field, so every input can be
 * written. The form checks only what it must to build a value (a number that is not one, JSON
 * that does not parse): bounds and patterns are shown as hints and left to the server, whose
 * answer is the thing being explored.
 */

export type JsonPrimitive = string | number | boolean | null;

export interface TextRules {
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

export interface NumberRules {
  integer: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** One choice of a union: what it is called in the picker, and its schema. */
export interface Branch {
  label: string;
  schema: JsonSchema;
}

/** A property of an object; an optional one is sent only when `sent`. */
export interface Member {
  name: string;
  required: boolean;
  sent: boolean;
  field: FormField;
}

/** What every field carries besides its value: the schema's own words. */
interface FieldDocs {
  description?: string;
  /** The schema's `default`, as JSON, for the hint (the server applies it when the value is left out). */
  defaultText?: string;
}

export type FormField = FieldDocs &
  (
    | { kind: 'text'; rules: TextRules; text: string }
    | { kind: 'number'; rules: NumberRules; text: string }
    | { kind: 'boolean'; value: boolean }
    | { kind: 'choice'; options: JsonPrimitive[]; index: number }
    | { kind: 'fixed'; value: JsonPrimitive }
    | { kind: 'nullable'; isNull: boolean; inner: FormField }
    | { kind: 'list'; item: JsonSchema; minItems?: number; maxItems?: number; items: FormField[] }
    | { kind: 'union'; branches: Branch[]; chosen: number; inner: FormField }
    | { kind: 'object'; members: Member[] }
    | { kind: 'json'; schema: JsonSchema; text: string }
  );

/** Keywords whose meaning the form cannot show: a schema using one is edited as JSON. */
const UNSUPPORTED = [
  '$ref',
  'allOf',
  'not',
  'if',
  'prefixItems',
  'patternProperties',
  'dependentSchemas',
  'propertyNames',
];

const isSchema = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isPrimitive = (value: unknown): value is JsonPrimitive =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value);

const numberAt = (s: JsonSchema, key: string): number | undefined =>
  typeof s[key] === 'number' ? s[key] : undefined;

const stringAt = (s: JsonSchema, key: string): string | undefined =>
  typeof s[key] === 'string' ? s[key] : undefined;

const schemasAt = (s: JsonSchema, key: string): JsonSchema[] | undefined => {
  const list = s[key];
  return Array.isArray(list) && list.every(isSchema) ? list : undefined;
};

/** `{ type: ['string', 'null'] }` is zod's short form of a union of bare types. */
function branchesOf(s: JsonSchema): JsonSchema[] | undefined {
  const listed = schemasAt(s, 'anyOf') ?? schemasAt(s, 'oneOf');
  if (listed) return listed;
  const { type } = s;
  if (!Array.isArray(type)) return undefined;
  return type.map((t: unknown) => ({ ...s, type: t }));
}

const isNullSchema = (s: JsonSchema) => s['type'] === 'null' || (s['const'] === null && !s['type']);

function docsOf(s: JsonSchema): FieldDocs {
  const docs: FieldDocs = {};
  const description = stringAt(s, 'description');
  if (description !== undefined) docs.description = description;
  if (s['default'] !== undefined) docs.defaultText = JSON.stringify(s['default']);
  return docs;
}

/** The field for a schema, holding its default where it has one, else an empty value. */
export function fieldFor(schema: JsonSchema): FormField {
  const docs = docsOf(schema);
  const fallback = (): FormField => ({
    ...docs,
    kind: 'json',
    schema,
    text: schema['default'] === undefined ? '' : JSON.stringify(schema['default'], null, 2),
  });
  if (UNSUPPORTED.some((key) => key in schema)) return fallback();

  const branches = branchesOf(schema);
  if (branches) {
    const values = branches.filter((b) => !isNullSchema(b));
    const first = values[0];
    if (!first) return { ...docs, kind: 'fixed', value: null };
    // The words on the whole (a property's description) are about the value, shown with it.
    const inner = { ...(values.length === 1 ? fieldFor(first) : unionField(values)), ...docs };
    if (values.length === branches.length) return inner;
    return { kind: 'nullable', isNull: schema['default'] === null, inner };
  }

  if ('const' in schema) {
    return isPrimitive(schema['const'])
      ? { ...docs, kind: 'fixed', value: schema['const'] }
      : fallback();
  }
  const options = schema['enum'];
  if (Array.isArray(options)) {
    if (!options.every(isPrimitive)) return fallback();
    return {
      ...docs,
      kind: 'choice',
      options,
      index: Math.max(
        0,
        options.findIndex((option) => option === schema['default']),
      ),
    };
  }

  const initial = schema['default'];
  switch (schema['type']) {
    case 'string':
      return {
        ...docs,
        kind: 'text',
        rules: textRules(schema),
        text: typeof initial === 'string' ? initial : '',
      };
    case 'number':
    case 'integer':
      return {
        ...docs,
        kind: 'number',
        rules: numberRules(schema),
        text: typeof initial === 'number' ? String(initial) : '',
      };
    case 'boolean':
      return { ...docs, kind: 'boolean', value: initial === true };
    case 'null':
      return { ...docs, kind: 'fixed', value: null };
    case 'array':
      return listField(schema, docs) ?? fallback();
    case 'object':
      return objectField(schema, docs) ?? fallback();
    default:
      return fallback();
  }
}

function textRules(s: JsonSchema): TextRules {
  const rules: TextRules = {};
  for (const key of ['minLength', 'maxLength'] as const) {
    const value = numberAt(s, key);
    if (value !== undefined) rules[key] = value;
  }
  for (const key of ['pattern', 'format'] as const) {
    const value = stringAt(s, key);
    if (value !== undefined) rules[key] = value;
  }
  return rules;
}

function numberRules(s: JsonSchema): NumberRules {
  const rules: NumberRules = { integer: s['type'] === 'integer' };
  for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const) {
    const value = numberAt(s, key);
    // zod's `.int()` writes the safe-integer range: not a bound anyone chose.
    if (value !== undefined && Math.abs(value) !== Number.MAX_SAFE_INTEGER) rules[key] = value;
  }
  return rules;
}

function listField(s: JsonSchema, docs: FieldDocs): FormField | null {
  const item = s['items'];
  if (!isSchema(item)) return null;
  const minItems = numberAt(s, 'minItems');
  const maxItems = numberAt(s, 'maxItems');
  return {
    ...docs,
    kind: 'list',
    item,
    ...(minItems === undefined ? {} : { minItems }),
    ...(maxItems === undefined ? {} : { maxItems }),
    // Room for what the list needs at least, so a required list starts fillable.
    items: Array.from({ length: Math.min(minItems ?? 0, 10) }, () => fieldFor(item)),
  };
}

/** A record (`additionalProperties` as a schema) has no fixed properties to show. */
function objectField(s: JsonSchema, docs: FieldDocs): FormField | null {
  if (isSchema(s['additionalProperties'])) return null;
  const properties = s['properties'] ?? {};
  if (!isSchema(properties)) return null;
  const required = new Set(Array.isArray(s['required']) ? s['required'] : []);
  const members = Object.entries(properties).map(([name, schema]): Member => ({
    name,
    required: required.has(name),
    sent: required.has(name),
    // A property schema that is not an object (`true`) says nothing the form can show.
    field: fieldFor(isSchema(schema) ? schema : {}),
  }));
  return { ...docs, kind: 'object', members };
}

function unionField(branches: JsonSchema[]): FormField {
  const labels = unionLabels(branches);
  const picked = branches.map((schema, i) => ({ label: labels[i] ?? `option ${i + 1}`, schema }));
  return { kind: 'union', branches: picked, chosen: 0, inner: fieldFor(branches[0] ?? {}) };
}

/**
 * What each choice of a union is called: the value of the property they are told apart by (a
 * discriminated union), else an object's required properties, else the branch's title or type.
 */
function unionLabels(branches: JsonSchema[]): string[] {
  const propsOf = (b: JsonSchema) => (isSchema(b['properties']) ? b['properties'] : {});
  const first = branches[0];
  const discriminator = Object.keys(first ? propsOf(first) : {}).find((key) =>
    branches.every((b) => {
      const prop = propsOf(b)[key];
      return isSchema(prop) && isPrimitive(prop['const']);
    }),
  );
  const labels = branches.map((b, i) => {
    if (discriminator) {
      const prop = propsOf(b)[discriminator];
      return `${discriminator}: ${isSchema(prop) ? String(prop['const']) : ''}`;
    }
    const required = b['required'];
    if (Array.isArray(required) && required.length > 0) return required.join(', ');
    if ('const' in b) return JSON.stringify(b['const']);
    return stringAt(b, 'title') ?? stringAt(b, 'type') ?? `option ${i + 1}`;
  });
  // Two choices of one name could not be told apart in the picker.
  return labels.map((label, i) => (labels.indexOf(label) === i ? label : `${label} (${i + 1})`));
}

/** Picks another choice of a union: its field starts afresh. */
export function choose(field: FormField & { kind: 'union' }, chosen: number): FormField {
  const branch = field.branches[chosen];
  return branch ? { ...field, chosen, inner: fieldFor(branch.schema) } : field;
}

/** Something the form cannot turn into a value, at its path (`to.usernames[0]`). */
export interface Problem {
  path: string;
  message: string;
}

export type Built = { ok: true; value: unknown } | { ok: false; problems: Problem[] };

/** The value a field holds, or why it holds none. */
export function valueOf(field: FormField, path = ''): Built {
  switch (field.kind) {
    case 'text':
      return { ok: true, value: field.text };
    case 'number': {
      const text = field.text.trim();
      const value = Number(text);
      if (text === '' || !Number.isFinite(value)) {
        return failed(path, text === '' ? 'a number is needed' : `'${text}' is not a number`);
      }
      return { ok: true, value };
    }
    case 'boolean':
    case 'fixed':
      return { ok: true, value: field.value };
    case 'choice':
      return { ok: true, value: field.options[field.index] ?? null };
    case 'nullable':
      return field.isNull ? { ok: true, value: null } : valueOf(field.inner, path);
    case 'union':
      return valueOf(field.inner, path);
    case 'list': {
      const built = collect(field.items.map((item, i) => ({ path: `${path}[${i}]`, field: item })));
      return built.ok ? { ok: true, value: built.values } : built;
    }
    case 'object': {
      const sent = field.members.filter((m) => m.sent);
      const built = collect(
        sent.map((m) => ({ path: path ? `${path}.${m.name}` : m.name, field: m.field })),
      );
      if (!built.ok) return built;
      return { ok: true, value: Object.fromEntries(sent.map((m, i) => [m.name, built.values[i]])) };
    }
    case 'json':
      return parseJson(field.text, path);
  }
}

function failed(path: string, message: string): Built {
  return { ok: false, problems: [{ path, message }] };
}

/** Builds every part, reporting every part's problems at once. */
function collect(
  parts: { path: string; field: FormField }[],
): { ok: true; values: unknown[] } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const values: unknown[] = [];
  for (const { path, field } of parts) {
    const built = valueOf(field, path);
    if (built.ok) values.push(built.value);
    else problems.push(...built.problems);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values };
}

/** Raw JSON as typed: empty means "no value", which the caller decides about. */
export function parseJson(text: string, path = ''): Built {
  if (text.trim() === '') return failed(path, 'JSON is needed');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return failed(path, `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const RANGE_SEPARATOR = '–';

function range(min: number | undefined, max: number | undefined, unit: string): string | null {
  if (min !== undefined && max !== undefined) return `${min}${RANGE_SEPARATOR}${max} ${unit}`;
  if (max !== undefined) return `at most ${max} ${unit}`;
  if (min !== undefined) return `at least ${min} ${unit}`;
  return null;
}

/** What a field's schema asks of its value, in words, for the hint under it. */
export function hintsOf(field: FormField): string[] {
  const hints: (string | null)[] = [];
  switch (field.kind) {
    case 'text':
      hints.push(range(field.rules.minLength, field.rules.maxLength, 'characters'));
      if (field.rules.format) hints.push(field.rules.format);
      // A format's pattern only spells the format out.
      else if (field.rules.pattern) hints.push(`matches ${field.rules.pattern}`);
      break;
    case 'number': {
      const { integer, minimum, maximum, exclusiveMinimum, exclusiveMaximum } = field.rules;
      hints.push(integer ? 'integer' : 'number');
      if (minimum !== undefined) hints.push(`≥ ${minimum}`);
      if (exclusiveMinimum !== undefined) hints.push(`> ${exclusiveMinimum}`);
      if (maximum !== undefined) hints.push(`≤ ${maximum}`);
      if (exclusiveMaximum !== undefined) hints.push(`< ${exclusiveMaximum}`);
      break;
    }
    case 'list':
      hints.push(range(field.minItems, field.maxItems, 'items'));
      break;
    case 'json':
      hints.push('JSON: the form cannot express this part');
      break;
    case 'boolean':
    case 'choice':
    case 'fixed':
    case 'nullable':
    case 'union':
    case 'object':
      break;
  }
  if (field.defaultText !== undefined) hints.push(`default ${field.defaultText}`);
  return hints.filter((hint) => hint !== null);
}
