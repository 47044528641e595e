import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { serialize } from 'cookie';
import { z } from 'zod';
import {
  createTokenSchema,
  loginSchema,
  tokenInfoSchema,
  userSchema,
} from '../../shared/schemas/auth.ts';
import { idSchema, pageInputSchema } from '../../shared/schemas/common.ts';
import { SESSION_COOKIE } from '../context.ts';
import { hashPassword, hashSecret, newSecret, verifyPassword } from '../auth/secrets.ts';
import { pageOf, pageOrRefuse } from '../paging.ts';
import { authedProcedure, publicProcedure } from '../trpc.ts';

const SESSION_DAYS = 30;

/** Verified against when the username is unknown, so both failures take as long. */
const dummyHashes = new Map<number, Promise<string>>();
function dummyHash(logN: number): Promise<string> {
  let hash = dummyHashes.get(logN);
  if (!hash) dummyHashes.set(logN, (hash = hashPassword('not-a-password', logN)));
  return hash;
}

export const authRouter = {
  login: publicProcedure
    .input(loginSchema)
    .output(z.object({ user: userSchema }))
    .mutation(async ({ ctx, input }) => {
      const { services } = ctx;
      const { byUsername, byAddress } = services.loginLimits;
      const userKey = input.username.toLowerCase();
      const [perUser, perAddress] = await Promise.all([
        byUsername.get(userKey),
        byAddress.get(ctx.ip),
      ]);
      if ((perUser?.remainingPoints ?? 1) <= 0 || (perAddress?.remainingPoints ?? 1) <= 0) {
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: 'Too many failed sign-ins; try again in a few minutes',
        });
      }
      const credentials = await services.users.credentialsOf(input.username);
      const ok = await verifyPassword(
        input.password,
        credentials?.passwordHash ?? (await dummyHash(services.env.PULSE_SCRYPT_LOG_N)),
      );
      const user = ok && credentials ? await services.users.byId(credentials.id) : null;
      if (!user) {
        await Promise.all([
          byUsername.consume(userKey).catch(() => undefined),
          byAddress.consume(ctx.ip).catch(() => undefined),
        ]);
        throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Wrong username or password' });
      }
      await byUsername.delete(userKey);
      const secret = newSecret('ps_');
      const expires = new Date(Date.now() + SESSION_DAYS * 86_400_000);
      await services.users.sessions.create(hashSecret(secret), user.id, expires.toISOString());
      ctx.setCookie?.(
        serialize(SESSION_COOKIE, secret, {
          httpOnly: true,
          sameSite: 'lax',
          path: '/',
          expires,
          secure: services.env.PULSE_SECURE_COOKIE,
        }),
      );
      return { user };
    }),

  logout: authedProcedure.output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx }) => {
    if (ctx.credential.kind === 'session') {
      await ctx.services.users.sessions.delete(ctx.credential.key);
      await ctx.services.bus.publish('auth.revoked', { kind: 'session', key: ctx.credential.key });
      ctx.setCookie?.(
        serialize(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 0 }),
      );
    }
    return { ok: true as const };
  }),

  me: authedProcedure.output(userSchema).query(({ ctx }) => ctx.user),

  createToken: authedProcedure
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
      const id = await ctx.services.users.tokens.create({
        userId: ctx.user.id,
        name: input.name,
        tokenHash: hashSecret(token),
        scopes,
      });
      return { id, token };
    }),

  revokeToken: authedProcedure
    .input(z.object({ id: idSchema }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      if (!(await ctx.services.users.tokens.revoke(ctx.user.id, input.id))) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No token '${input.id}'` });
      }
      await ctx.services.bus.publish('auth.revoked', { kind: 'token', key: input.id });
      return { ok: true as const };
    }),

  /** The caller's live tokens, newest first, a page at a time. */
  listTokens: authedProcedure
    .input(pageInputSchema.optional())
    .output(z.array(tokenInfoSchema))
    .query(({ ctx, input }) => {
      const page = pageOf(input);
      return pageOrRefuse(page.cursor, ctx.services.users.tokens.list(ctx.user.id, page));
    }),
} satisfies TRPCRouterRecord;
