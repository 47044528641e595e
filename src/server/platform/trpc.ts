import { initTRPC, TRPCError } from '@trpc/server';
import { prettifyError, ZodError, type ZodType } from 'zod';
import type { Deprecation, ProcedureAccess } from '../../shared/api-contract.ts';
import type { TokenScope } from '../../shared/schemas/auth.ts';
import type { Context } from './context.ts';
import { isUnstorableText } from './dialect.ts';

/**
 * Per-procedure facts: what the middlewares read, and what the API contract (`api/contract.json`,
 * `docs/api.md`) states about the procedure beyond its schemas. tRPC merges each `.meta()` call
 * into what the builder set.
 */
export interface Meta {
  /** The token scope this procedure needs; by default `read` for queries and subscriptions, `write` for mutations. */
  scope?: TokenScope;
  /** Who may call it; set by the procedure builders below (the middleware each one runs decides it). */
  access?: ProcedureAccess;
  /** What it does, and what it guarantees that its types cannot say: order, replay, limits, errors. */
  description?: string;
  /**
   * Marks it deprecated: the reference says so, and calls are counted in `/metrics`
   * (`pulse_deprecated_calls_total`). Also put `@deprecated` in a JSDoc comment on the router's
   * key, which clients' editors then show. A marker only: the procedure behaves as before.
   */
  deprecated?: Deprecation;
  /** Subscriptions: what each event carries (the values a client's `onData` receives, unwrapped). */
  yields?: ZodType;
  /** Subscriptions: whether events are `tracked()` with ids a client resumes from (`lastEventId`). */
  tracked?: boolean;
}

/** The token scope a procedure needs: its `meta.scope`, else `write` for mutations and `read` for the rest. */
export function scopeOf(meta: Meta | undefined, type: string): TokenScope {
  return meta?.scope ?? (type === 'mutation' ? 'write' : 'read');
}

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    // Stack traces stay in the server's log, never on the wire.
    isDev: false,
    errorFormatter({ shape, error }) {
      const invalid = error.cause instanceof ZodError;
      return {
        ...shape,
        message: invalid ? `Invalid input: ${prettifyError(error.cause)}` : shape.message,
        data: {
          ...shape.data,
          // Zod's issues, so callers can show which field was wrong and why.
          issues: error.cause instanceof ZodError ? error.cause.issues : null,
        },
      };
    },
  });

/** Builds routers; the only `initTRPC` in the codebase. */
export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/**
 * Each procedure has exactly one middleware (tRPC copies a call's options at every middleware,
 * so checks are not stacked): `publicProcedure`'s checks, then, for `authedProcedure`, a user,
 * and for `adminProcedure`, an admin.
 *
 * Anyone: mutations sent by a browser from a foreign `Origin` with ambient credentials
 * (cookies) are refused, the CSRF guard; programs send no `Origin` and pass. Every call of a
 * deprecated procedure is counted here, where calls over every transport pass, before it may be
 * refused: whoever still calls it is what decides when it can go.
 */
function checkCall(ctx: Context, meta: Meta | undefined, type: string, path: string): void {
  if (meta?.deprecated) ctx.countDeprecatedCall?.(path);
  if (type === 'mutation' && !ctx.originAllowed) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Origin not allowed' });
  }
}

/**
 * A string the database cannot hold (PostgreSQL: one with a NUL character) answers BAD_REQUEST
 * rather than a server error; SQLite stores it as it is.
 */
function refuseUnstorable(result: { ok: true } | { ok: false; error: TRPCError }): void {
  if (!result.ok && isUnstorableText(result.error.cause)) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: 'Text may not contain NUL characters (U+0000)',
      cause: result.error.cause,
    });
  }
}

/** The caller, signed in (session or token) with the token scope the procedure needs. */
function signedIn(ctx: Context, meta: Meta | undefined, type: string) {
  const { user, credential } = ctx;
  if (!user || !credential) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in or send an API token' });
  }
  const scope = scopeOf(meta, type);
  if (credential.scopes && !credential.scopes.has(scope)) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `This token lacks the '${scope}' scope` });
  }
  return { user, credential };
}

/** Anyone. */
export const publicProcedure = t.procedure
  .meta({ access: 'public' })
  .use(async ({ ctx, meta, type, path, next }) => {
    checkCall(ctx, meta, type, path);
    const result = await next();
    refuseUnstorable(result);
    return result;
  });

/** A signed-in user (session or token), with the token scope this procedure needs (`meta.scope`; by default `read` for queries and subscriptions, `write` for mutations). */
export const authedProcedure = t.procedure
  .meta({ access: 'user' })
  .use(async ({ ctx, meta, type, path, next }) => {
    checkCall(ctx, meta, type, path);
    const result = await next({ ctx: signedIn(ctx, meta, type) });
    refuseUnstorable(result);
    return result;
  });

/** An admin. */
export const adminProcedure = t.procedure
  .meta({ access: 'admin' })
  .use(async ({ ctx, meta, type, path, next }) => {
    checkCall(ctx, meta, type, path);
    const caller = signedIn(ctx, meta, type);
    if (caller.user.role !== 'admin') {
      throw new TRPCError({ code: 'FORBIDDEN', message: 'Admins only' });
    }
    const result = await next({ ctx: caller });
    refuseUnstorable(result);
    return result;
  });
