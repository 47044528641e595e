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
 * Anyone. Refuses mutations sent by a browser from a foreign `Origin` with ambient credentials
 * (cookies): the CSRF guard. Programs send no `Origin` and pass. A string the database cannot
 * hold (PostgreSQL: one with a NUL character) answers BAD_REQUEST rather than a server error;
 * SQLite stores it as it is.
 */
export const publicProcedure = t.procedure.use(async ({ ctx, type, next }) => {
  if (type === 'mutation' && !ctx.originAllowed) {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Origin not allowed' });
  }
  const result = await next();
  if (!result.ok && isUnstorableText(result.error.cause)) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: 'Text may not contain NUL characters (U+0000)',
      cause: result.error.cause,
    });
  }
  return result;
});

/** A signed-in user (session or token), with the token scope this procedure needs. */
export const authedProcedure = publicProcedure.use(({ ctx, meta, type, next }) => {
  if (!ctx.user || !ctx.credential) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in or send an API token' });
  }
  const scope = meta?.scope ?? (type === 'mutation' ? 'write' : 'read');
  if (ctx.credential.scopes && !ctx.credential.scopes.has(scope)) {
    throw new TRPCError({ code: 'FORBIDDEN', message: `This token lacks the '${scope}' scope` });
  }
  return next({ ctx: { user: ctx.user, credential: ctx.credential } });
});

/** An admin. */
export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.user.role !== 'admin') {
    throw new TRPCError({ code: 'FORBIDDEN', message: 'Admins only' });
  }
  return next();
});
