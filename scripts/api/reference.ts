import type { ApiContract, JsonSchema, ProcedureContract } from '../../src/shared/api-contract.ts';
import { alternatives } from './alternatives.ts';

/**
 * The API reference (`docs/api.md`), made from the contract alone: what holds for every
 * procedure, then each procedure with who may call it, its description (where the router states
 * what types cannot: order, replay, limits, errors), and its input and output field by field.
 */
export function renderReference(contract: ApiContract): string {
  const areas = new Map<string, ProcedureContract[]>();
  for (const p of contract.procedures) {
    const area = p.path.split('.')[0] ?? p.path;
    areas.set(area, [...(areas.get(area) ?? []), p]);
  }
  const contents = [...areas].map(
    ([area, procedures]) =>
      `- [${area}](#${area}): ${procedures.map((p) => `\`${p.path.slice(area.length + 1)}\``).join(', ')}`,
  );
  return [
    '<!-- Generated from the router by `npm run api:snapshot`: edit the router and its schemas, not this page. -->',
    '',
    '# Pulse API reference',
    '',
    `API version **${contract.apiVersion}** (what \`system.health\` reports). The machine-readable contract is [\`api/contract.json\`](../api/contract.json); breaking changes are listed in [\`api/CHANGELOG.md\`](../api/CHANGELOG.md).`,
    '',
    GENERAL,
    '',
    '## Procedures',
    '',
    ...contents,
    ...[...areas].flatMap(([area, procedures]) => [
      '',
      `## ${area}`,
      ...procedures.flatMap(renderProcedure),
    ]),
    '',
  ].join('\n');
}

/** What holds for every procedure, in the project's words. */
const GENERAL = `## Calling it

- **Where.** tRPC v11 under \`/trpc\` on the server's one port: queries (GET) and mutations (POST) over HTTP, one call or a batch; subscriptions over Server-Sent Events (tRPC's \`httpSubscriptionLink\`) or WebSocket (\`wsLink\`, which carries queries and mutations too). Many subscriptions can also share one event stream, \`POST /trpc-live\` (the web app's, see the README's "The live stream"). The wire is plain JSON, with no data transformer, so any tRPC client, or \`curl\`, can speak it. Times are ISO-8601 strings, except metric timestamps: milliseconds since the epoch.
- **Who.** *public* procedures answer anyone. The others need a browser session (the \`pulse_session\` cookie that \`auth.login\` sets) or an API token (\`Authorization: Bearer <token>\`, or \`connectionParams: { token }\` over WebSocket); *admin* ones an admin. A token acts as its user within its scopes: each procedure names the scope it needs. No credentials answer \`UNAUTHORIZED\`; a wrong role or a missing scope \`FORBIDDEN\`; data of another team or user \`NOT_FOUND\`, as if it did not exist. A mutation carried by a cookie from a page of a foreign \`Origin\` answers \`FORBIDDEN\`.
- **Errors.** Input that does not match the schema answers \`BAD_REQUEST\` with zod's issues in \`error.data.issues\`, and changes nothing; so does text holding a NUL character (which PostgreSQL cannot store). Limits the schemas do not show (request and batch sizes, connections, subscriptions, rates) are configuration, in the README.
- **Tracked streams** (their events carry ids) resume: given the last id received (\`lastEventId\`, or SSE's \`Last-Event-ID\` on reconnect) they first replay every event after it, in order, then go live, with no gap and no duplicate, across reconnects, restarts and instances. An id they cannot resume from ends the stream with \`PRECONDITION_FAILED\`: refetch, then subscribe afresh. **Untracked streams** send state or batches: a client refetches what it shows whenever such a stream starts or restarts.
- **Lists that grow** page by keyset: \`cursor\` is the id of the last item of the previous page, a page shorter than \`limit\` is the last, and items added meanwhile never shift a later page. Without input each answers its first page.
- **Deprecated** procedures and fields are marked below with what to use instead. They keep working as they did; calls of deprecated procedures are counted in \`/metrics\` (\`pulse_deprecated_calls_total{procedure}\`), so their removal (a breaking change, in a new major version) waits until nobody calls them.`;

const ACCESS: Record<ProcedureContract['access'], string> = {
  public: 'public',
  user: 'signed in',
  admin: 'admin',
};

function renderProcedure(p: ProcedureContract): string[] {
  const facts = [
    p.type,
    ACCESS[p.access],
    ...(p.scope ? [`token scope \`${p.scope}\``] : []),
    ...(p.type === 'subscription' ? [p.tracked ? 'tracked' : 'untracked'] : []),
  ];
  const out = ['', `### \`${p.path}\``, '', facts.join(' · ')];
  if (p.deprecated) {
    const instead = p.deprecated.replacement ? ` Use \`${p.deprecated.replacement}\`.` : '';
    out.push('', `> **Deprecated.** ${p.deprecated.reason}${instead}`);
  }
  if (p.description) out.push('', p.description);
  out.push(
    '',
    p.input === null
      ? '**Input:** none.'
      : `**Input**${p.inputOptional ? ' (may be left out)' : ''}`,
  );
  if (p.input !== null) out.push('', ...table(p.input));
  const yields = p.type === 'subscription' ? '**Each event**' : '**Output**';
  out.push('', p.output === null ? `${yields}: not stated.` : yields);
  if (p.output !== null) out.push('', ...table(p.output));
  return out;
}

interface Row {
  field: string;
  type: string;
  required: string;
  description: string;
}

function table(schema: JsonSchema): string[] {
  const rows = fieldRows(schema, '', true);
  return [
    '| Field | Type | Required | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${[r.field, r.type, r.required, r.description].map(cell).join(' | ')} |`),
  ];
}

/**
 * Rows for a schema and what it holds: each field of its objects, and of their arrays' items.
 * Fields of one alternative among several objects say which (`yes, in { userIds }`).
 */
function fieldRows(schema: JsonSchema, path: string, required: boolean, within = ''): Row[] {
  const options = alternatives(schema);
  const objects = options.filter((s) => s['type'] === 'object');
  const rows: Row[] = [];
  // A whole object at the top needs no row of its own: its fields are the table.
  if (path !== '' || objects.length !== 1 || options.length !== 1) {
    rows.push({
      field: path === '' ? '(the value)' : `\`${path}\``,
      type: typeText(schema),
      required: requiredText(schema, required) + within,
      description: descriptionText(schema),
    });
  }
  for (const object of objects) {
    const props = (object['properties'] ?? {}) as Record<string, JsonSchema>;
    const needed = new Set((object['required'] ?? []) as string[]);
    const alternative = objects.length > 1 ? `, in \`${objectName(object)}\`` : within;
    for (const [name, prop] of Object.entries(props)) {
      const where = path === '' ? name : `${path}.${name}`;
      rows.push(...fieldRows(prop, where, needed.has(name), alternative));
    }
  }
  for (const array of options.filter((s) => s['type'] === 'array')) {
    const items = array['items'] as JsonSchema | undefined;
    if (items && alternatives(items).some((s) => s['type'] === 'object')) {
      const inner = fieldRows(items, `${path}[]`, true, within);
      // The items' own row repeats the array's; their fields are what is new.
      rows.push(...inner.filter((r) => r.field !== `\`${path}[]\``));
    }
  }
  return rows;
}

function requiredText(s: JsonSchema, required: boolean): string {
  if (required) return 'yes';
  return s['default'] === undefined ? 'no' : `no (default ${JSON.stringify(s['default'])})`;
}

function descriptionText(s: JsonSchema): string {
  const text = typeof s['description'] === 'string' ? s['description'] : '';
  return s['deprecated'] === true && !text.startsWith('Deprecated') ? `Deprecated. ${text}` : text;
}

/** A schema's type in words: `string, 1–100 characters`, `"open", "acknowledged" or "resolved"`. */
function typeText(s: JsonSchema): string {
  const options = alternatives(s);
  if (options.length > 1) {
    return options
      .map((a) => (a['type'] === 'object' ? `\`${objectName(a)}\`` : typeText(a)))
      .join(', or ');
  }
  if ('const' in s) return `\`${JSON.stringify(s['const'])}\``;
  if (Array.isArray(s['enum'])) {
    const values = (s['enum'] as unknown[]).map((v) => `\`${JSON.stringify(v)}\``);
    return values.length === 1 ? (values[0] ?? '') : `one of ${values.join(', ')}`;
  }
  const type = typeof s['type'] === 'string' ? s['type'] : 'any';
  const limits: string[] = [];
  switch (type) {
    case 'string': {
      const size = range(s['minLength'], s['maxLength']);
      if (size) limits.push(`${size} characters`);
      if (typeof s['format'] === 'string') limits.push(s['format']);
      else if (typeof s['pattern'] === 'string') limits.push(`matching \`${s['pattern']}\``);
      break;
    }
    case 'integer':
    case 'number': {
      const safe = (v: unknown) =>
        Math.abs(Number(v)) === Number.MAX_SAFE_INTEGER ? undefined : v;
      const size =
        range(safe(s['minimum']), safe(s['maximum'])) ?? (s['minimum'] === 0 ? '≥ 0' : null);
      if (size) limits.push(size);
      if (s['exclusiveMinimum'] !== undefined)
        limits.push(`> ${JSON.stringify(s['exclusiveMinimum'])}`);
      if (s['exclusiveMaximum'] !== undefined)
        limits.push(`< ${JSON.stringify(s['exclusiveMaximum'])}`);
      break;
    }
    case 'array': {
      const items = s['items'] as JsonSchema | undefined;
      const size = range(s['minItems'], s['maxItems']);
      const of = !items
        ? 'array'
        : alternatives(items).some((i) => i['type'] === 'object')
          ? 'array of objects'
          : `array, each ${typeText(items)}`;
      return size ? `${of}; ${size} items` : of;
    }
    default:
      break;
  }
  return [type, ...limits].join(', ');
}

/** An object by its fields: `{ userIds }`. */
const objectName = (s: JsonSchema) => `{ ${Object.keys(s['properties'] ?? {}).join(', ')} }`;

function range(min: unknown, max: unknown): string | null {
  const lo = typeof min === 'number' ? min : null;
  const hi = typeof max === 'number' ? max : null;
  if (lo !== null && hi !== null) return lo === hi ? `exactly ${lo}` : `${lo}–${hi}`;
  if (hi !== null) return `at most ${hi}`;
  return lo !== null && lo > 0 ? `at least ${lo}` : null;
}

/** Text that fits in one table cell. */
const cell = (text: string) => text.replaceAll('\n', ' ').replaceAll('|', '\\|');
