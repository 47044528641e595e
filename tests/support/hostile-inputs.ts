import { z } from 'zod';

/**
 * Hostile inputs derived from a procedure's zod schema, through its JSON Schema (zod 4's
 * `z.toJSONSchema`, input side): the whole input of the wrong type, each required property
 * missing, each property of the wrong type, strings over their maximum by one and by 1 MB,
 * arrays over their maximum, numbers out of range, values outside an enum, unknown keys where
 * none are allowed. Each starts from a sample that satisfies the schema's shape, so that one
 * thing at a time is wrong, and every input is checked against the schema itself: only inputs
 * the schema refuses are returned, so none of them may change anything on a server.
 */

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
}

export interface HostileInput {
  /** What is wrong, naming the property: `title: 201 characters (max 200)`. */
  name: string;
  input: unknown;
}

type Path = (string | number)[];

/** Characters added to a string for the "over by 1 MB" case (the body stays under 1 MiB). */
const ONE_MB = 1_000_000;
const SAMPLE_UUID = '123e4567-e89b-42d3-a456-426614174000';

const branchesOf = (s: JsonSchema): JsonSchema[] => s.anyOf ?? s.oneOf ?? [s];

/** The JSON types a schema accepts (`integer` counts as `number`). */
function typesOf(s: JsonSchema): Set<string> {
  const types = new Set<string>();
  for (const branch of branchesOf(s)) {
    if (branch.anyOf ?? branch.oneOf) {
      for (const t of typesOf(branch)) types.add(t);
      continue;
    }
    const declared =
      branch.type === undefined ? [] : Array.isArray(branch.type) ? branch.type : [branch.type];
    for (const t of declared) types.add(t === 'integer' ? 'number' : t);
    if (branch.const !== undefined) types.add(jsonType(branch.const));
    for (const value of branch.enum ?? []) types.add(jsonType(value));
    if (declared.length === 0 && branch.const === undefined && branch.enum === undefined) {
      for (const t of ['string', 'number', 'boolean', 'object', 'array', 'null']) types.add(t);
    }
  }
  return types;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A value of the schema's shape (constraints a JSON Schema cannot express aside). */
function sample(s: JsonSchema): unknown {
  const [first] = branchesOf(s).filter((b) => b.type !== 'null');
  if (!first) return null;
  if (first !== s) return sample(first);
  if (s.const !== undefined) return s.const;
  if (s.enum && s.enum.length > 0) return s.enum[0];
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string': {
      if (s.format === 'uuid') return SAMPLE_UUID;
      return 'a'.repeat(Math.max(1, s.minLength ?? 1));
    }
    case 'number':
    case 'integer': {
      const low = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 1);
      return s.maximum !== undefined && low > s.maximum ? s.maximum : low;
    }
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => sample(s.items ?? {}));
    case 'object':
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, p]) => [k, sample(p)]));
    case undefined:
    default:
      return 'a';
  }
}

function withValue(base: unknown, path: Path, value: unknown, remove = false): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

const label = (path: Path) =>
  path.length === 0
    ? 'input'
    : path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

const count = (n: number) => n.toLocaleString('en-US');

/** Values of a type the schema does not accept, tried in this order. */
const WRONG_TYPES: [string, unknown][] = [
  ['number', 42],
  ['string', 'x'],
  ['boolean', true],
  ['array', []],
  ['object', {}],
  ['null', null],
];

function mutations(s: JsonSchema, base: unknown, path: Path, typed = false): HostileInput[] {
  const out: HostileInput[] = [];
  const at = label(path);
  const add = (name: string, value: unknown, remove = false) =>
    out.push({ name: `${at}: ${name}`, input: withValue(base, path, value, remove) });

  if (path.length > 0 && !typed) {
    const accepted = typesOf(s);
    const wrong = WRONG_TYPES.find(([type]) => !accepted.has(type));
    if (wrong) add(`wrong type (${JSON.stringify(wrong[1])})`, wrong[1]);
  }

  const value = path.reduce<unknown>(
    (node, key) => (node as Record<string | number, unknown>)[key],
    base,
  );
  // Of a union, follow the branch the sample took (its non-null branch of the value's type).
  const branch =
    branchesOf(s).length > 1
      ? (branchesOf(s).find((b) => b.type !== 'null' && typesOf(b).has(jsonType(value))) ?? s)
      : s;
  if (branch !== s) return [...out, ...mutations(branch, base, path, true)];

  if (s.enum) add(`not one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`, 'not-a-member');
  if (s.const !== undefined) {
    add(
      `not ${JSON.stringify(s.const)}`,
      typeof s.const === 'boolean' ? !s.const : `${JSON.stringify(s.const)}-not`,
    );
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  if (type === 'string' && !s.enum && s.const === undefined) {
    if (s.maxLength !== undefined) {
      add(`${count(s.maxLength + 1)} characters (max ${s.maxLength})`, 'a'.repeat(s.maxLength + 1));
      add(
        `${count(s.maxLength + ONE_MB)} characters (max ${s.maxLength})`,
        'a'.repeat(s.maxLength + ONE_MB),
      );
    } else if (s.pattern !== undefined) {
      add(`${count(ONE_MB)} characters (pattern ${s.pattern})`, 'a'.repeat(ONE_MB));
    }
    if ((s.minLength ?? 0) > 0) add(`empty (min ${s.minLength})`, '');
    if (s.format !== undefined || s.pattern !== undefined)
      add(`not matching ${s.format ?? 'its pattern'}`, ' \u0000ü');
  }
  if (type === 'number' || type === 'integer') {
    if (s.minimum !== undefined) add(`${s.minimum - 1} (min ${s.minimum})`, s.minimum - 1);
    if (s.exclusiveMinimum !== undefined)
      add(`${s.exclusiveMinimum} (exclusive min)`, s.exclusiveMinimum);
    if (s.maximum !== undefined) {
      // Past Number.MAX_SAFE_INTEGER `+ 1` is lost to rounding: double it instead.
      const over = Number.isSafeInteger(s.maximum + 1) ? s.maximum + 1 : s.maximum * 2;
      add(`${over} (max ${s.maximum})`, over);
    }
    if (s.exclusiveMaximum !== undefined)
      add(`${s.exclusiveMaximum} (exclusive max)`, s.exclusiveMaximum);
    if (type === 'integer') add('1.5 (not an integer)', 1.5);
  }
  if (type === 'array') {
    const item = sample(s.items ?? {});
    if (s.maxItems !== undefined) {
      add(
        `${count(s.maxItems + 1)} items (max ${s.maxItems})`,
        Array.from({ length: s.maxItems + 1 }, () => item),
      );
    }
    if ((s.minItems ?? 0) > 0) add(`no items (min ${s.minItems})`, []);
    if (s.items && Array.isArray(value) && value.length > 0)
      out.push(...mutations(s.items, base, [...path, 0]));
  }
  if (type === 'object') {
    for (const key of s.required ?? []) {
      out.push({
        name: `${at}: '${key}' missing`,
        input: withValue(base, [...path, key], undefined, true),
      });
    }
    if (s.additionalProperties === false)
      add("an unknown key 'zzz'", { ...(value as object), zzz: 1 });
    for (const [key, property] of Object.entries(s.properties ?? {})) {
      out.push(...mutations(property, base, [...path, key]));
    }
  }
  return out;
}

/** Hostile inputs for `schema`, each one the schema itself refuses (or throws on). */
export function hostileInputsOf(schema: z.ZodType): HostileInput[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const base = sample(json);
  const candidates: HostileInput[] = [
    ...([42, 'x', [], null, true] as const).map((input) => ({
      name: `input: ${JSON.stringify(input)}`,
      input,
    })),
    ...mutations(json, base, []),
  ];
  const seen = new Set<string>();
  return candidates.filter((c) => {
    if (seen.has(c.name)) return false;
    seen.add(c.name);
    try {
      return !schema.safeParse(c.input).success;
    } catch {
      // A schema that throws (a refinement or transform gone wrong) is itself worth sending.
      return true;
    }
  });
}

/** Characters that trip naive code: NUL, percent, quotes, markup, SQL, paths, non-BMP. */
const ODD = '\u0000%ü😀\'"<>;--/../\\';

/** A value of the schema's shape at its upper edges: strings at their maximum, numbers at theirs. */
function largest(s: JsonSchema, odd: boolean): unknown {
  const [first] = branchesOf(s).filter((b) => b.type !== 'null');
  if (!first) return null;
  if (first !== s) return largest(first, odd);
  if (s.const !== undefined) return s.const;
  if (s.enum && s.enum.length > 0) return s.enum.at(-1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string': {
      if (s.format === 'uuid') return SAMPLE_UUID;
      const length = s.maxLength ?? 100;
      if (!odd || s.pattern !== undefined || s.format !== undefined) return 'z'.repeat(length);
      return ODD.repeat(Math.ceil(length / ODD.length)).slice(0, length);
    }
    case 'number':
      return s.maximum ?? 1e300;
    case 'integer':
      return s.maximum ?? Number.MAX_SAFE_INTEGER;
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: Math.max(1, s.maxItems ?? 1) }, () =>
        largest(s.items ?? {}, odd),
      );
    case 'object':
      return Object.fromEntries(
        Object.entries(s.properties ?? {}).map(([k, p]) => [k, largest(p, odd)]),
      );
    case undefined:
    default:
      return 'z';
  }
}

/**
 * Inputs the schema accepts, at its edges: the smallest sample, everything at its maximum, and
 * strings at their maximum made of characters that trip naive code. They pass validation, so
 * they reach the resolver: only for calls that change nothing (queries, subscriptions).
 */
export function edgeInputsOf(schema: z.ZodType): HostileInput[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const candidates: HostileInput[] = [
    { name: 'valid: the smallest sample', input: sample(json) },
    { name: 'valid: everything at its maximum', input: largest(json, false) },
    { name: 'valid: strings at their maximum of odd characters', input: largest(json, true) },
  ];
  const seen = new Set<string>();
  return candidates.filter((c) => {
    const key = JSON.stringify(c.input);
    if (seen.has(key)) return false;
    seen.add(key);
    try {
      return schema.safeParse(c.input).success;
    } catch {
      return false;
    }
  });
}
