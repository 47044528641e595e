import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  addMemberSchema,
  createTeamSchema,
  createUserSchema,
  setDisabledSchema,
  userIdSchema,
  teamSchema,
  userSchema,
} from '../../../shared/schemas/auth.ts';
import { personSchema } from '../../../shared/schemas/chat.ts';
import { idSchema, pageInputSchema } from '../../../shared/schemas/common.ts';
import type { Services } from '../../services.ts';
import { pageOf, pageOrRefuse } from '../../platform/paging.ts';
import { adminProcedure, authedProcedure } from '../../platform/trpc.ts';

export const usersRouter = {
  create: adminProcedure
    .input(createUserSchema)
    .output(userSchema)
    .mutation(async ({ ctx, input }) => {
      const { users, passwords } = ctx.services;
      const teamIds = input.teamIds ?? [];
      const known = await users.teams.existingIds(teamIds);
      const unknown = teamIds.filter((id) => !known.has(id));
      if (unknown.length > 0) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${unknown[0]}'` });
      }
      const user = await users.create({
        username: input.username,
        passwordHash: await passwords.hash(input.password),
        displayName: input.displayName ?? input.username,
        role: input.role ?? 'member',
        teamIds,
      });
      if (!user) {
        throw new TRPCError({ code: 'CONFLICT', message: `Username '${input.username}' is taken` });
      }
      return user;
    }),

  /** By username, a page at a time (`cursor`: the last user of the previous page). */
  list: adminProcedure
    .input(pageInputSchema.optional())
    .output(z.array(userSchema))
    .query(({ ctx, input }) => {
      const page = pageOf(input);
      return pageOrRefuse(page.cursor, ctx.services.users.list(page));
    }),

  /**
   * Disables (or enables again) a user: a disabled user cannot sign in, their sessions end,
   * their tokens stop working, and their open streams and sockets close.
   */
  setDisabled: adminProcedure
    .input(setDisabledSchema)
    .output(z.object({ userId: idSchema, disabled: z.boolean(), sessionsEnded: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const { users, bus } = ctx.services;
      if (input.userId === ctx.user.id && input.disabled) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'You cannot disable your own account' });
      }
      if (!(await users.setDisabled(input.userId, input.disabled))) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${input.userId}'` });
      }
      if (!input.disabled) return { userId: input.userId, disabled: false, sessionsEnded: 0 };
      const ended = await users.sessions.deleteAllOf(input.userId);
      await bus.publish('auth.revoked', { kind: 'user', key: input.userId });
      return { userId: input.userId, disabled: true, sessionsEnded: ended.length };
    }),

  /** Ends every session of a user (signs them out everywhere). */
  revokeSessions: adminProcedure
    .input(userIdSchema)
    .output(z.object({ count: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const { users, bus } = ctx.services;
      await requireUser(ctx.services, input.userId);
      const ended = await users.sessions.deleteAllOf(input.userId);
      for (const key of ended) await bus.publish('auth.revoked', { kind: 'session', key });
      return { count: ended.length };
    }),

  /** Revokes every API token of a user. */
  revokeTokens: adminProcedure
    .input(userIdSchema)
    .output(z.object({ count: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const { users, bus } = ctx.services;
      await requireUser(ctx.services, input.userId);
      const revoked = await users.tokens.revokeAllOf(input.userId);
      for (const key of revoked) await bus.publish('auth.revoked', { kind: 'token', key });
      return { count: revoked.length };
    }),
} satisfies TRPCRouterRecord;

async function requireUser(services: Services, userId: string): Promise<void> {
  if (!(await services.users.byId(userId))) throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${userId}'` });
}

export const teamsRouter = {
  create: adminProcedure
    .input(createTeamSchema)
    .output(teamSchema)
    .mutation(async ({ ctx, input }) => {
      const team = await ctx.services.users.teams.create(input.name);
      if (!team) throw new TRPCError({ code: 'CONFLICT', message: `Team '${input.name}' exists` });
      return team;
    }),

  /** Admins see every team; members see their own. */
  list: authedProcedure.output(z.array(teamSchema)).query(async ({ ctx }) => {
    const teams = await ctx.services.users.teams.list();
    if (ctx.user.role === 'admin') return teams;
    const mine = new Set(ctx.user.teamIds);
    return teams.filter((t) => mine.has(t.id));
  }),

  /** A team's people, for admins and the team's own members (names, assignees, mentions). */
  members: authedProcedure
    .input(z.object({ teamId: idSchema }))
    .output(z.array(personSchema))
    .query(async ({ ctx, input }) => {
      const { users } = ctx.services;
      if (ctx.user.role !== 'admin' && !ctx.user.teamIds.includes(input.teamId)) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${input.teamId}'` });
      }
      return users.teams.people(input.teamId);
    }),

  addMember: adminProcedure
    .input(addMemberSchema)
    .output(userSchema)
    .mutation(async ({ ctx, input }) => {
      const { users } = ctx.services;
      if (!(await users.teams.byId(input.teamId))) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${input.teamId}'` });
      }
      if (!(await users.byId(input.userId))) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${input.userId}'` });
      }
      await users.teams.addMember(input.teamId, input.userId);
      const user = await users.byId(input.userId);
      if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${input.userId}'` });
      return user;
    }),
} satisfies TRPCRouterRecord;
