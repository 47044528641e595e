import type { JsonSchema } from '../../src/shared/api-contract.ts';

/**
 * A JSON Schema as the alternatives it allows: the members of its union (nested ones
 * flattened), or one per type when it lists several (`"type": ["string", "null"]`, as zod writes
 * a simple nullable), or itself.
 */
export function alternatives(s: JsonSchema): JsonSchema[] {
  const members = s['anyOf'] ?? s['oneOf'];
  if (Array.isArray(members)) return (members as JsonSchema[]).flatMap(alternatives);
  const type = s['type'];
  if (Array.isArray(type)) return (type as string[]).map((t) => ({ ...s, type: t }));
  return [s];
}
