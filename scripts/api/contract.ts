import type { AnyTRPCRouter } from '@trpc/server';
import { z } from 'zod';
import { createApp } from '../../src/server/app.ts';
import { parseEnv } from '../../src/server/env.ts';
import {
  procedureDefinitions,
  type ProcedureDefinition,
} from '../../src/server/platform/trpc-internals.ts';
import { scopeOf, type Meta } from '../../src/server/platform/trpc.ts';
import type { ApiContract, JsonSchema, ProcedureContract } from '../../src/shared/api-contract.ts';

/**
 * The API contract of any router built with Pulse's procedure builders: each procedure's type,
 * access and scope (from the meta its builder set), its description, deprecation and, for
 * subscriptions, whether it is tracked (from its meta), and its input and output as JSON Schema
 * (from its zod schemas; a subscription's output is what each event carries, `meta.yields`).
 * A procedure that does not say all of this is an error, so the contract never guesses.
 */
export function contractOf(router: AnyTRPCRouter, apiVersion: string): ApiContract {
  return { apiVersion, procedures: procedureDefinitions(router).map(procedureContract) };
}

function procedureContract(definition: ProcedureDefinition): ProcedureContract {
  const { path, type } = definition;
  const meta = (definition.meta ?? {}) as Meta;
  const fail = (what: string) => new Error(`${path}: ${what}`);
  if (!meta.access) {
    throw fail('not built from publicProcedure, authedProcedure or adminProcedure');
  }
  if (definition.inputs.length > 1) throw fail('more than one input schema');
  const input = definition.inputs[0];
  if (input !== undefined && !(input instanceof z.ZodType)) throw fail('its input is not zod');
  const output = type === 'subscription' ? meta.yields : definition.output;
  if (!(output instanceof z.ZodType)) {
    throw fail(
      type === 'subscription'
        ? 'say what each event carries (meta.yields, a zod schema)'
        : 'no zod output validator',
    );
  }
  if (type === 'subscription' && meta.tracked === undefined) {
    throw fail('say whether its events are tracked (meta.tracked)');
  }
  return {
    path,
    type,
    access: meta.access,
    scope: meta.access === 'public' ? null : scopeOf(meta, type),
    ...(type === 'subscription' ? { tracked: meta.tracked } : {}),
    ...(meta.description ? { description: meta.description } : {}),
    ...(meta.deprecated ? { deprecated: meta.deprecated } : {}),
    input: input ? jsonSchema(input, 'input') : null,
    ...(input?.safeParse(undefined).success ? { inputOptional: true } : {}),
    output: jsonSchema(output, 'output'),
  };
}

/**
 * Zod's JSON Schema for one side of a schema: what it accepts (`input`: defaults make fields
 * optional) or what it produces (`output`). Checks JSON Schema cannot say (refinements) are
 * left out rather than refused; descriptions must say them.
 */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any' });

/**
 * Pulse's own contract: its router as the server builds it (`createApp`, on an in-memory
 * database that nothing is written to; no procedure runs), at `apiVersion`.
 */
export async function pulseContract(apiVersion: string): Promise<ApiContract> {
  const app = await createApp(parseEnv({ DATABASE_URL: 'sqlite::memory:' }));
  try {
    return contractOf(app.router, apiVersion);
  } finally {
    await app.close();
  }
}
