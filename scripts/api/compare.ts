import type {
  ApiContract,
  JsonSchema,
  ProcedureAccess,
  ProcedureContract,
} from '../../src/shared/api-contract.ts';
import { alternatives } from './alternatives.ts';

/**
 * How the API changed between two contracts (a committed snapshot, and the router now), and
 * whom each difference affects. Two kinds of client meet a changed server:
 *
 * - existing clients: programs and web app tabs built against the snapshot, calling the new
 *   server. A difference that can make one of their calls fail or mean something else is
 *   breaking: a procedure removed, an input that accepts less, an output that promises less
 *   (a field removed, become optional or nullable, a new enum value), a stream that changed
 *   between tracked and untracked, access or scope tightened.
 * - during a rolling deploy, a new web app or program calling an instance not yet upgraded:
 *   what it relies on may not be there yet (a new procedure answers NOT_FOUND; a new optional
 *   field is dropped unread, since objects ignore fields they do not know; a value the old
 *   instance does not accept answers BAD_REQUEST; a new output field is missing). These are
 *   additive: old clients are unaffected, and the message says what a new client must tolerate
 *   until every instance runs the new version.
 *
 * Descriptions and deprecation marks change no behaviour (`docs`), but the snapshot and the
 * reference must still be regenerated. Schemas are compared as JSON Schema: what zod cannot
 * express there (refinements) is invisible to this check.
 */

export type Impact = 'breaking' | 'additive' | 'docs';

export interface Difference {
  impact: Impact;
  /** The procedure's dotted path. */
  procedure: string;
  /** Where in it: `input.to.userIds`, `output.items[].text`, `access`; empty for the procedure itself. */
  at: string;
  /** What changed: `field removed`, `maxLength 200 → 100`. */
  change: string;
  /** Which clients it breaks or concerns, and how; empty for documentation. */
  clients: string;
}

const EXISTING = 'Existing clients (programs, and web app tabs loaded before the upgrade)';
const ROLLING =
  'During a rolling deploy, a new web app or program calling an instance not yet upgraded';

/** Every difference from `before` to `after`, sorted by procedure and place. */
export function compareContracts(before: ApiContract, after: ApiContract): Difference[] {
  const out: Difference[] = [];
  const old = new Map(before.procedures.map((p) => [p.path, p]));
  const now = new Map(after.procedures.map((p) => [p.path, p]));
  for (const [path, a] of old) {
    const b = now.get(path);
    if (b) compareProcedures(a, b, out);
    else
      out.push({
        impact: 'breaking',
        procedure: path,
        at: '',
        change: 'procedure removed',
        clients: `${EXISTING} calling it get NOT_FOUND.`,
      });
  }
  for (const path of now.keys()) {
    if (!old.has(path)) {
      out.push({
        impact: 'additive',
        procedure: path,
        at: '',
        change: 'procedure added',
        clients: `${ROLLING} gets NOT_FOUND from it.`,
      });
    }
  }
  return out.sort((x, y) => x.procedure.localeCompare(y.procedure) || x.at.localeCompare(y.at));
}

const RANK: Record<ProcedureAccess, number> = { public: 0, user: 1, admin: 2 };

function compareProcedures(a: ProcedureContract, b: ProcedureContract, out: Difference[]): void {
  const add = (impact: Impact, at: string, change: string, clients = '') =>
    out.push({ impact, procedure: a.path, at, change, clients });
  if (a.type !== b.type) {
    add(
      'breaking',
      'type',
      `${a.type} → ${b.type}`,
      `${EXISTING} call it as a ${a.type} and get NOT_FOUND; so does a new client on an old instance.`,
    );
    return;
  }
  if (RANK[b.access] > RANK[a.access]) {
    add(
      'breaking',
      'access',
      `${a.access} → ${b.access}`,
      `${EXISTING} allowed to call it before now get UNAUTHORIZED or FORBIDDEN.`,
    );
  } else if (RANK[b.access] < RANK[a.access]) {
    add(
      'additive',
      'access',
      `${a.access} → ${b.access}`,
      `${ROLLING} that relies on the wider access gets UNAUTHORIZED or FORBIDDEN there.`,
    );
  }
  if (a.scope !== null && b.scope !== null && a.scope !== b.scope) {
    add(
      'breaking',
      'scope',
      `${a.scope} → ${b.scope}`,
      `${EXISTING} with tokens scoped '${a.scope}' but not '${b.scope}' now get FORBIDDEN (and the reverse on an instance not yet upgraded).`,
    );
  }
  if ((a.tracked ?? false) !== (b.tracked ?? false)) {
    add(
      'breaking',
      'tracked',
      b.tracked ? 'untracked → tracked' : 'tracked → untracked',
      b.tracked
        ? `${EXISTING} receive { id, data } envelopes where they read plain events.`
        : `${EXISTING} get events without ids: they can no longer resume from lastEventId, and read plain events where they read { id, data }.`,
    );
  }
  if (a.description !== b.description) {
    add('docs', 'description', `description ${textChange(a.description, b.description)}`);
  }
  if (JSON.stringify(a.deprecated) !== JSON.stringify(b.deprecated)) {
    add(
      'docs',
      'deprecated',
      b.deprecated ? `now deprecated: ${b.deprecated.reason}` : 'no longer deprecated',
    );
  }
  compareInputs(a, b, add);
  if (a.output === null || b.output === null) {
    if (a.output !== b.output)
      add(
        'breaking',
        'output',
        'output schema added or removed',
        `${EXISTING} read another shape.`,
      );
  } else {
    emit(compareSchema(a.output, b.output, 'output', 'output'), 'output', add);
  }
}

type Add = (impact: Impact, at: string, change: string, clients?: string) => void;

function compareInputs(a: ProcedureContract, b: ProcedureContract, add: Add): void {
  const optionalA = a.inputOptional ?? false;
  const optionalB = b.inputOptional ?? false;
  if (a.input === null && b.input === null) return;
  if (a.input === null) {
    if (optionalB) {
      add('additive', 'input', 'input added (may be left out)', NEW_OPTIONAL_INPUT);
    } else {
      add('breaking', 'input', 'input added, required', `${EXISTING} send none: BAD_REQUEST.`);
    }
    return;
  }
  if (b.input === null) {
    add('breaking', 'input', 'input removed', `${EXISTING} send input that is no longer read.`);
    return;
  }
  if (optionalA && !optionalB) {
    add(
      'breaking',
      'input',
      'input now required',
      `${EXISTING} that leave it out get BAD_REQUEST.`,
    );
  } else if (!optionalA && optionalB) {
    add(
      'additive',
      'input',
      'input may now be left out',
      `${ROLLING} that leaves it out gets BAD_REQUEST there.`,
    );
  }
  emit(compareSchema(a.input, b.input, 'input', 'input'), 'input', add);
}

type Side = 'input' | 'output';

/** What a schema difference does to the values allowed at one place. */
type Kind =
  | 'removed'
  | 'added-required'
  | 'added-optional'
  | 'now-required'
  | 'now-optional'
  | 'narrower'
  | 'wider'
  | 'changed'
  | 'docs';

interface Change {
  at: string;
  kind: Kind;
  change: string;
  /** Overrides the usual words about clients. */
  clients?: string;
}

/** A new optional input, as an instance not yet upgraded treats it. */
const NEW_OPTIONAL_INPUT = `Existing clients are unaffected. ${ROLLING} has it ignored (or refused, where that instance refuses unknown fields): do not rely on it until every instance runs this version.`;

/** Whom each kind of change concerns, on either side (BREAKING says which break clients). */
const INPUT: Record<Exclude<Kind, 'docs'>, string> = {
  removed: `${EXISTING} that send it have it ignored, or refused where unknown fields are (BAD_REQUEST).`,
  'added-required': `${EXISTING} do not send it: BAD_REQUEST.`,
  'added-optional': NEW_OPTIONAL_INPUT,
  'now-required': `${EXISTING} that leave it out get BAD_REQUEST.`,
  'now-optional': `${ROLLING} that leaves it out gets BAD_REQUEST there.`,
  narrower: `${EXISTING} may send values it now refuses: BAD_REQUEST.`,
  wider: `${ROLLING} may send values that instance refuses: BAD_REQUEST.`,
  changed: `${EXISTING} send values it now reads otherwise, or refuses.`,
};
const OUTPUT: Record<Exclude<Kind, 'docs'>, string> = {
  removed: `${EXISTING} read a field it no longer sends.`,
  'added-required': `Existing clients ignore it. ${ROLLING} does not get it: treat it as possibly missing until every instance runs this version.`,
  'added-optional': `Existing clients ignore it. ${ROLLING} does not get it: treat it as possibly missing until every instance runs this version.`,
  'now-required': `${ROLLING} may still find it missing.`,
  'now-optional': `${EXISTING} may find it missing.`,
  narrower: `${ROLLING} may still receive what it no longer sends.`,
  wider: `${EXISTING} may receive values they were not built to handle.`,
  changed: `${EXISTING} receive values of another shape.`,
};

const BREAKING: Record<Side, ReadonlySet<Kind>> = {
  input: new Set(['removed', 'added-required', 'now-required', 'narrower', 'changed']),
  output: new Set(['removed', 'now-optional', 'wider', 'changed']),
};

function emit(changes: Change[], side: Side, add: Add): void {
  for (const c of changes) {
    if (c.kind === 'docs') {
      add('docs', c.at, c.change);
      continue;
    }
    const impact = BREAKING[side].has(c.kind) ? 'breaking' : 'additive';
    add(impact, c.at, c.change, c.clients ?? (side === 'input' ? INPUT : OUTPUT)[c.kind]);
  }
}

/** Keywords this comparison understands; any other that differs counts as a change of shape. */
const KNOWN = new Set([
  '$schema',
  'type',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'pattern',
  'format',
  'default',
  'description',
  'title',
  'examples',
  'deprecated',
]);

/** The differences between two JSON Schemas at `at`, as kinds of change to the values allowed. */
function compareSchema(a: JsonSchema, b: JsonSchema, at: string, side: Side): Change[] {
  const out: Change[] = [];
  if (a['description'] !== b['description']) {
    out.push({
      at,
      kind: 'docs',
      change: `description ${textChange(str(a['description']), str(b['description']))}`,
    });
  }
  if (Boolean(a['deprecated']) !== Boolean(b['deprecated'])) {
    out.push({
      at,
      kind: 'docs',
      change: b['deprecated'] ? 'now deprecated' : 'no longer deprecated',
    });
  }
  if (side === 'input' && !same(a['default'], b['default'])) {
    out.push({
      at,
      kind: 'changed',
      change: `default ${show(a['default'])} → ${show(b['default'])}`,
      clients: `${EXISTING} that leave it out get another value.`,
    });
  }
  const alternativesA = alternatives(a);
  const alternativesB = alternatives(b);
  const { pairs, onlyA, onlyB } = matchAlternatives(alternativesA, alternativesB);
  for (const [x, y] of pairs) compareOne(x, y, at, side, out);
  for (const x of onlyA) {
    out.push({
      at,
      kind: 'narrower',
      change: x['type'] === 'null' ? 'no longer nullable' : `${describe(x)} no longer allowed`,
    });
  }
  for (const y of onlyB) {
    out.push({
      at,
      kind: 'wider',
      change: y['type'] === 'null' ? 'now nullable' : `${describe(y)} now allowed`,
    });
  }
  return out;
}

/** What an alternative is, for matching: its type (integers are numbers), or its constant. */
function kindOf(s: JsonSchema): string {
  if ('const' in s) return `const ${JSON.stringify(s['const'])}`;
  const type = s['type'];
  return type === 'integer' ? 'number' : typeof type === 'string' ? type : 'any';
}

/**
 * Pairs the alternatives of two schemas: the only ones of each side, alike in kind, or, among
 * objects, those sharing the most property names (`{ userIds }` stays `{ userIds }` when
 * another alternative is added beside it).
 */
function matchAlternatives(as: JsonSchema[], bs: JsonSchema[]) {
  if (as.length === 1 && bs.length === 1) {
    return { pairs: [[as[0], bs[0]] as [JsonSchema, JsonSchema]], onlyA: [], onlyB: [] };
  }
  const pairs: [JsonSchema, JsonSchema][] = [];
  const left = new Set(bs);
  const onlyA: JsonSchema[] = [];
  for (const x of as) {
    let best: JsonSchema | null = null;
    let bestScore = 0;
    for (const y of left) {
      if (kindOf(x) !== kindOf(y)) continue;
      const score = kindOf(x) === 'object' ? sharedProperties(x, y) : 1;
      if (score > bestScore) {
        best = y;
        bestScore = score;
      }
    }
    if (best) {
      pairs.push([x, best]);
      left.delete(best);
    } else {
      onlyA.push(x);
    }
  }
  return { pairs, onlyA, onlyB: [...left] };
}

function sharedProperties(x: JsonSchema, y: JsonSchema): number {
  const px = Object.keys(propertiesOf(x));
  const py = new Set(Object.keys(propertiesOf(y)));
  return px.filter((k) => py.has(k)).length;
}

/** Compares two alternatives of one kind. */
function compareOne(a: JsonSchema, b: JsonSchema, at: string, side: Side, out: Change[]): void {
  // After `alternatives`, a type is one name or none (any value).
  const ta = a['type'] as string | undefined;
  const tb = b['type'] as string | undefined;
  if (ta !== tb) {
    const change = `type ${ta ?? 'any'} → ${tb ?? 'any'}`;
    const kind: Kind =
      ta === undefined || (ta === 'number' && tb === 'integer')
        ? 'narrower'
        : tb === undefined || (ta === 'integer' && tb === 'number')
          ? 'wider'
          : 'changed';
    out.push({ at, kind, change });
    // Past a change of kind, the keywords of one type say nothing about the other's.
    if (kind !== 'narrower' && kind !== 'wider') return;
    if (ta === undefined || tb === undefined) return;
  }
  compareValues(a, b, at, out);
  for (const key of ['minLength', 'minItems', 'minimum', 'exclusiveMinimum'] as const) {
    compareBound(a, b, key, 'lower', at, out);
  }
  for (const key of ['maxLength', 'maxItems', 'maximum', 'exclusiveMaximum'] as const) {
    compareBound(a, b, key, 'upper', at, out);
  }
  for (const key of ['pattern', 'format', 'multipleOf'] as const) {
    const [x, y] = [a[key], b[key]];
    if (same(x, y)) continue;
    const kind: Kind = x === undefined ? 'narrower' : y === undefined ? 'wider' : 'changed';
    out.push({ at, kind, change: `${key} ${show(x)} → ${show(y)}` });
  }
  compareObjects(a, b, at, side, out);
  compareItems(a, b, at, side, out);
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!KNOWN.has(key) && !same(a[key], b[key])) {
      out.push({ at, kind: 'changed', change: `${key} ${show(a[key])} → ${show(b[key])}` });
    }
  }
}

/** Enums and constants: values removed allow less, values added allow more. */
function compareValues(a: JsonSchema, b: JsonSchema, at: string, out: Change[]): void {
  const va = valuesOf(a);
  const vb = valuesOf(b);
  if (va === null && vb === null) return;
  if (va === null) return void out.push({ at, kind: 'narrower', change: `only ${list(vb ?? [])}` });
  if (vb === null)
    return void out.push({ at, kind: 'wider', change: `any value, was only ${list(va)}` });
  const removed = va.filter((v) => !vb.some((w) => same(v, w)));
  const added = vb.filter((v) => !va.some((w) => same(v, w)));
  if (removed.length > 0) out.push({ at, kind: 'narrower', change: `${list(removed)} removed` });
  if (added.length > 0) out.push({ at, kind: 'wider', change: `${list(added)} added` });
}

function valuesOf(s: JsonSchema): unknown[] | null {
  if (Array.isArray(s['enum'])) return s['enum'] as unknown[];
  return 'const' in s ? [s['const']] : null;
}

/** A lower bound raised, or an upper one lowered, allows less; the reverse allows more. */
function compareBound(
  a: JsonSchema,
  b: JsonSchema,
  key: string,
  bound: 'lower' | 'upper',
  at: string,
  out: Change[],
): void {
  const x = a[key] as number | undefined;
  const y = b[key] as number | undefined;
  if (x === y) return;
  const none = bound === 'lower' ? -Infinity : Infinity;
  const tighter = bound === 'lower' ? (y ?? none) > (x ?? none) : (y ?? none) < (x ?? none);
  out.push({ at, kind: tighter ? 'narrower' : 'wider', change: `${key} ${show(x)} → ${show(y)}` });
}

const propertiesOf = (s: JsonSchema) => (s['properties'] ?? {}) as Record<string, JsonSchema>;
const requiredOf = (s: JsonSchema) => new Set((s['required'] ?? []) as string[]);

function compareObjects(a: JsonSchema, b: JsonSchema, at: string, side: Side, out: Change[]): void {
  const pa = propertiesOf(a);
  const pb = propertiesOf(b);
  const ra = requiredOf(a);
  const rb = requiredOf(b);
  for (const name of Object.keys(pa)) {
    const where = `${at}.${name}`;
    const x = pa[name] as JsonSchema;
    const y = pb[name];
    if (y === undefined) {
      out.push({ at: where, kind: 'removed', change: 'field removed' });
      continue;
    }
    if (ra.has(name) && !rb.has(name))
      out.push({ at: where, kind: 'now-optional', change: 'now optional' });
    if (!ra.has(name) && rb.has(name))
      out.push({ at: where, kind: 'now-required', change: 'now required' });
    out.push(...compareSchema(x, y, where, side));
  }
  for (const name of Object.keys(pb)) {
    if (name in pa) continue;
    const required = rb.has(name);
    out.push({
      at: `${at}.${name}`,
      kind: required ? 'added-required' : 'added-optional',
      change: required ? 'required field added' : 'optional field added',
    });
  }
  // Outputs: zod closes every object it produces; what matters is which fields it sends.
  if (side === 'output') return;
  const xa = a['additionalProperties'];
  const xb = b['additionalProperties'];
  if (typeof xa === 'object' && typeof xb === 'object') {
    out.push(...compareSchema(xa as JsonSchema, xb as JsonSchema, `${at}.*`, side));
  } else if ((xa === false) !== (xb === false)) {
    out.push(
      xb === false
        ? { at, kind: 'narrower', change: 'unknown fields now refused' }
        : { at, kind: 'wider', change: 'unknown fields now ignored instead of refused' },
    );
  } else if (!same(xa, xb)) {
    out.push({ at, kind: 'changed', change: 'additionalProperties changed' });
  }
}

function compareItems(a: JsonSchema, b: JsonSchema, at: string, side: Side, out: Change[]): void {
  const ia = a['items'] as JsonSchema | undefined;
  const ib = b['items'] as JsonSchema | undefined;
  if (ia && ib) out.push(...compareSchema(ia, ib, `${at}[]`, side));
  else if (ia) out.push({ at: `${at}[]`, kind: 'wider', change: 'items of any kind' });
  else if (ib) out.push({ at: `${at}[]`, kind: 'narrower', change: `items only ${describe(ib)}` });
}

/** A short name for an alternative: `null`, `string`, `object { userIds }`, `"x"`. */
function describe(s: JsonSchema): string {
  if ('const' in s) return JSON.stringify(s['const']);
  if (s['type'] === 'object') return `object { ${Object.keys(propertiesOf(s)).join(', ')} }`;
  return typeof s['type'] === 'string' ? s['type'] : 'any value';
}

const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
const show = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v));
const list = (vs: unknown[]) => vs.map((v) => JSON.stringify(v)).join(', ');
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const textChange = (x: string | undefined, y: string | undefined) =>
  x === undefined ? 'added' : y === undefined ? 'removed' : 'changed';

/** One difference as the check prints it: impact, procedure and place, then whom it affects. */
export function formatDifference(d: Difference): string {
  const head = `${d.impact === 'breaking' ? 'BREAKING' : d.impact}  ${d.procedure}${d.at ? ` ${d.at}` : ''}: ${d.change}`;
  return d.clients ? `${head}\n    ${d.clients}` : head;
}
