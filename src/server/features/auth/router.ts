import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { serialize } from 'cookie';
import { z } from 'zod';
import {
  createTokenSchema,
  loginSchema,
  tokenInfoSchema,
  userSchema,
} from '../../../shared/schemas/auth.ts';
import { idSchema, pageInputSchema } from '../../../shared/schemas/common.ts';
import type { Env } from '../../env.ts';
import { SESSION_COOKIE } from '../../platform/context.ts';
import { pageOf, pageOrRefuse } from '../../platform/paging.ts';
import type { RateLimiterFactory } from '../../platform/rate-limits.ts';
import { authedProcedure, publicProcedure } from '../../platform/trpc.ts';
import type { UserStore } from '../users/store.ts';
import type { AuthActions } from './actions.ts';
import type { CredentialStore } from './credential-store.ts';
import { hashSecret, newSecret, type PasswordHasher } from './secrets.ts';
import type { SessionStore } from './session-store.ts';
import type { TokenStore } from './token-store.ts';

const tooManyAttempts = () =>
  new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: 'Too many failed sign-ins; try again in a few minutes',
  });

export function createAuthRouter(deps: {
  users: UserStore;
  credentials: CredentialStore;
  sessions: SessionStore;
  tokens: TokenStore;
  actions: AuthActions;
  /** Password hashing, bounded in concurrency. */
  passwords: PasswordHasher;
  /** Where failed sign-ins are counted: this instance, or all of them. */
  limiters: RateLimiterFactory;
  env: Pick<
    Env,
    | 'PULSE_LOGIN_FAILURES_PER_USER'
    | 'PULSE_LOGIN_FAILURES_PER_ADDRESS'
    | 'PULSE_LOGIN_WINDOW_S'
    | 'PULSE_SESSION_MAX_S'
    | 'PULSE_SECURE_COOKIE'
  >;
}) {
  const { users, credentials: stored, sessions, tokens, actions, passwords, limiters, env } = deps;
  const byUsername = limiters({
    name: 'login-user',
    points: env.PULSE_LOGIN_FAILURES_PER_USER,
    duration: env.PULSE_LOGIN_WINDOW_S,
  });
  const byAddress = limiters({
    name: 'login-address',
    points: env.PULSE_LOGIN_FAILURES_PER_ADDRESS,
    duration: env.PULSE_LOGIN_WINDOW_S,
  });

  return {
    login: publicProcedure
      .meta({
        description:
          'Signs in and sets the `pulse_session` cookie (HttpOnly, SameSite=Lax), which every transport accepts. A wrong password and an unknown user answer the same `UNAUTHORIZED`, after the same work; a disabled account answers `FORBIDDEN`. Attempts are counted per username and per client address before the password is checked (`PULSE_LOGIN_FAILURES_PER_USER` and `PULSE_LOGIN_FAILURES_PER_ADDRESS` per `PULSE_LOGIN_WINDOW_S`), so neither a batch nor parallel requests get past the limit: past it every attempt answers `TOO_MANY_REQUESTS`, even with the right password. A success gives its count back.',
      })
      .input(loginSchema)
      .output(z.object({ user: userSchema }))
      .mutation(async ({ ctx, input }) => {
        const userKey = input.username.toLowerCase();
        // Every attempt is counted before any password is hashed, and counting is atomic, so
        // guesses sent in parallel or in one batch cannot all slip under the limit, and a
        // locked-out username or address costs no hashing at all. A success gives its count back.
        const counted = await Promise.allSettled([
          byUsername.consume(userKey),
          byAddress.consume(ctx.ip),
        ]);
        const refund = async () => {
          await Promise.all([byUsername.reward(userKey, 1), byAddress.reward(ctx.ip, 1)]).catch(
            () => undefined,
          );
        };
        if (counted.some((c) => c.status === 'rejected')) throw tooManyAttempts();
        const credentials = await stored.credentialsOf(input.username);
        // Unknown users are checked against a decoy hash, so both failures take as long.
        const { ok, rehash } = await passwords.verify(
          input.password,
          credentials?.passwordHash ?? (await passwords.decoy()),
        );
        if (!ok || !credentials) {
          throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Wrong username or password' });
        }
        await refund();
        if (credentials.disabled) {
          throw new TRPCError({
            code: 'FORBIDDEN',
            message: 'This account is disabled; ask an admin',
          });
        }
        const user = await users.byId(credentials.id);
        if (!user)
          throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Wrong username or password' });
        // Hashes made at an older, weaker cost are replaced while the password is at hand.
        if (rehash) await stored.setPasswordHash(user.id, await passwords.hash(input.password));
        const secret = newSecret('ps_');
        const expires = new Date(Date.now() + env.PULSE_SESSION_MAX_S * 1000);
        await sessions.create(hashSecret(secret), user.id, expires.toISOString());
        ctx.setCookie?.(
          serialize(SESSION_COOKIE, secret, {
            httpOnly: true,
            sameSite: 'lax',
            path: '/',
            expires,
            secure: env.PULSE_SECURE_COOKIE,
          }),
        );
        return { user };
      }),

    logout: authedProcedure
      .meta({
        description:
          "Ends the caller's session everywhere and clears the cookie; the streams and sockets it opened close. With an API token it ends nothing: revoke the token instead.",
      })
      .output(z.object({ ok: z.literal(true) }))
      .mutation(async ({ ctx }) => {
        if (ctx.credential.kind === 'session') {
          await actions.endSession(ctx.credential.key);
          ctx.setCookie?.(
            serialize(SESSION_COOKIE, '', {
              httpOnly: true,
              sameSite: 'lax',
              path: '/',
              maxAge: 0,
            }),
          );
        }
        return { ok: true as const };
      }),

    me: authedProcedure
      .meta({ description: 'The signed-in user, with their role and teams.' })
      .output(userSchema)
      .query(({ ctx }) => ctx.user),

    createToken: authedProcedure
      .meta({
        description:
          'Creates an API token that acts as the caller within its scopes, and answers its secret this once (only a hash is stored). Only admins may grant `notify`, and a token may grant only scopes it holds itself (else `FORBIDDEN`). A token made by a token is revoked with it. Tokens survive restarts.',
      })
      .input(createTokenSchema)
      .output(z.object({ id: idSchema, token: z.string() }))
      .mutation(async ({ ctx, input }) => {
        const scopes = [...new Set(input.scopes)];
        if (scopes.includes('notify') && ctx.user.role !== 'admin') {
          throw new TRPCError({
            code: 'FORBIDDEN',
            message: "Only admins may create 'notify' tokens",
          });
        }
        const held = ctx.credential.scopes;
        const missing = held ? scopes.filter((s) => !held.has(s)) : [];
        if (missing.length > 0) {
          throw new TRPCError({
            code: 'FORBIDDEN',
            message: `A token cannot grant scopes it lacks: ${missing.join(', ')}`,
          });
        }
        const token = newSecret('pulse_');
        const id = await tokens.create({
          userId: ctx.user.id,
          name: input.name,
          tokenHash: hashSecret(token),
          scopes,
          // A token made by a token dies with it (decision 0007).
          parentId: ctx.credential.kind === 'token' ? ctx.credential.key : null,
        });
        return { id, token };
      }),

    revokeToken: authedProcedure
      .meta({
        description:
          "Revokes one of the caller's tokens and every token made from it, at any depth: new calls with them answer `UNAUTHORIZED`, and the streams and sockets they opened close within seconds. Another user's token answers `NOT_FOUND`, as an unknown one.",
      })
      .input(z.object({ id: idSchema }))
      .output(z.object({ ok: z.literal(true) }))
      .mutation(async ({ ctx, input }) => {
        const revoked = await actions.revokeToken(ctx.user.id, input.id);
        if (revoked.length === 0)
          throw new TRPCError({ code: 'NOT_FOUND', message: `No token '${input.id}'` });
        return { ok: true as const };
      }),

    listTokens: authedProcedure
      .meta({
        description:
          "The caller's tokens that still work (never their secrets), newest first (`createdAt`, then `id`, both descending), a page at a time.",
      })
      .input(pageInputSchema.optional())
      .output(z.array(tokenInfoSchema))
      .query(({ ctx, input }) => {
        const page = pageOf(input);
        return pageOrRefuse(page.cursor, tokens.list(ctx.user.id, page));
      }),
  } satisfies TRPCRouterRecord;
}
