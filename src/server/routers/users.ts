import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  addMemberSchema,
  createTeamSchema,
  createUserSchema,
  teamSchema,
  userSchema,
} from '../../shared/schemas/auth.ts';
import { personSchema } from '../../shared/schemas/chat.ts';
import { idSchema, pageInputSchema } from '../../shared/schemas/common.ts';
import { hashPassword } from '../auth/secrets.ts';
import { pageOf, pageOrRefuse } from '../paging.ts';
import { adminProcedure, authedProcedure } from '../trpc.ts';

export const usersRouter = {
  create: adminProcedure
    .input(createUserSchema)
    .output(userSchema)
    .mutation(async ({ ctx, input }) => {
      const { users, env } = ctx.services;
      const teamIds = input.teamIds ?? [];
      const known = await users.teams.existingIds(teamIds);
      const unknown = teamIds.filter((id) => !known.has(id));
      if (unknown.length > 0) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${unknown[0]}'` });
      }
      const user = await users.create({
        username: input.username,
        passwordHash: await hashPassword(input.password, env.PULSE_SCRYPT_LOG_N),
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
} satisfies TRPCRouterRecord;

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
