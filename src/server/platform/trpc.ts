import { initTRPC, TRPCError } from '@trpc/server';
import { prettifyError, ZodError } from 'zod';
import type { TokenScope } from '../../shared/schemas/auth.ts';
import type { Context } from './context.ts';
import { isUnstorableText } from './dialect.ts';

/** Per-procedure facts the middlewares read. */
export interface Meta {
  /** The token scope this procedure needs; by default `read` for queries and subscriptions, `write` for mutations. */
  scope?: TokenScope;
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
 * (cookies) are refused, the CSRF guard; programs send no `Origin` and pass.
 */
function checkOrigin(ctx: Context, type: string): void {
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
  const scope = meta?.scope ?? (type === 'mutation' ? 'write' : 'read');
  if (credential.scopes && !credential.scopes.has(scope)) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `This token lacks the '${scope}' scope` });
  }
  return { user, credential };
}

/** Anyone. */
export const publicProcedure = t.procedure.use(async ({ ctx, type, next }) => {
  checkOrigin(ctx, type);
  const result = await next();
  refuseUnstorable(result);
  return result;
});

/** A signed-in user (session or token), with the token scope this procedure needs (`meta.scope`; by default `read` for queries and subscriptions, `write` for mutations). */
export const authedProcedure = t.procedure.use(async ({ ctx, meta, type, next }) => {
  checkOrigin(ctx, type);
  const result = await next({ ctx: signedIn(ctx, meta, type) });
  refuseUnstorable(result);
  return result;
});

/** An admin. */
export const adminProcedure = t.procedure.use(async ({ ctx, meta, type, next }) => {
  checkOrigin(ctx, type);
  const caller = signedIn(ctx, meta, type);
  if (caller.user.role !== 'admin') {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Admins only' });
  }
  const result = await next({ ctx: caller });
  refuseUnstorable(result);
  return result;
});
