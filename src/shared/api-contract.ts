/**
 * The shape of the API's machine-readable contract (`api/contract.json`): every procedure of
 * the router with its type, who may call it, and its input and output as JSON Schema. It is
 * generated from the router (`npm run api:snapshot`), committed, and compared against the
 * router on every change (`npm run api:check`); the API reference and the web app's explorer
 * are built from it.
 */

/** A JSON Schema document (draft 2020-12), as zod's `toJSONSchema` writes it. */
export type JsonSchema = { [key: string]: unknown };

/** Who may call a procedure. */
export type ProcedureAccess = 'public' | 'user' | 'admin';

export interface Deprecation {
  /** Why it is deprecated, for the reference and the explorer. */
  reason: string;
  /** What to call or read instead, e.g. `notifications.listPage`. */
  replacement?: string;
}

export interface ProcedureContract {
  /** Dotted path, e.g. `notifications.list`. */
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  access: ProcedureAccess;
  /** The API token scope it needs (`read`, `write`, ...); `null` when public. */
  scope: string | null;
  /** Subscriptions only: whether events carry ids a client resumes from (`tracked`). */
  tracked?: boolean;
  /** The procedure's description, written on it in the router. */
  description?: string;
  deprecated?: Deprecation;
  /** What the procedure accepts (zod's input side); `null` when it takes no input. */
  input: JsonSchema | null;
  /** True when the input may be left out altogether (JSON Schema cannot say so); absent otherwise. */
  inputOptional?: boolean;
  /** What it answers, or for a subscription what each event carries (zod's output side). */
  output: JsonSchema | null;
}

export interface ApiContract {
  /** The API's version, as `system.health` reports it. */
  apiVersion: string;
  /** Every procedure, sorted by path. */
  procedures: ProcedureContract[];
}
