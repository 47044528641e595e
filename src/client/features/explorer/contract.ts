import { z } from 'zod';
import type { ApiContract } from '../../../shared/api-contract.ts';

const jsonSchema = z.record(z.string(), z.unknown());

/** What the explorer reads of `api/contract.json` (src/shared/api-contract.ts), checked on load. */
const contractSchema = z.object({
  apiVersion: z.string(),
  procedures: z.array(
    z.object({
      path: z.string(),
      type: z.enum(['query', 'mutation', 'subscription']),
      access: z.enum(['public', 'user', 'admin']),
      scope: z.string().nullable(),
      tracked: z.boolean().optional(),
      description: z.string().optional(),
      deprecated: z.object({ reason: z.string(), replacement: z.string().optional() }).optional(),
      input: jsonSchema.nullable(),
      inputOptional: z.boolean().optional(),
      output: jsonSchema.nullable(),
    }),
  ),
});

let loading: Promise<ApiContract> | undefined;

/**
 * The API's contract, the snapshot generated from the router. It is loaded once, as a chunk of
 * its own (only the explorer needs it), and checked: a JSON import has no types of its own.
 */
export function loadContract(): Promise<ApiContract> {
  loading ??= import('../../../../api/contract.json').then((module): ApiContract =>
    contractSchema.parse(module.default),
  );
  return loading;
}
