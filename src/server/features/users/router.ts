import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  createUserSchema,
  setDisabledSchema,
  userIdSchema,
  userSchema,
} from '../../../shared/schemas/auth.ts';
import { personSchema } from '../../../shared/schemas/chat.ts';
import { idSchema, pageInputSchema } from '../../../shared/schemas/common.ts';
import { pageOf, pageOrRefuse } from '../../platform/paging.ts';
import { adminProcedure, authedProcedure } from '../../platform/trpc.ts';
import type { AuthActions } from '../auth/actions.ts';
import type { UserStore } from './store.ts';
import type { TeamStore } from './team-store.ts';

export function createUsersRouter(deps: {
  users: UserStore;
  teams: TeamStore;
  passwords: { hash(password: string): Promise<string> };
  /** Signing users out: their sessions end and their streams close. */
  auth: AuthActions;
}) {
  const { users, teams, passwords, auth } = deps;

  async function requireUser(userId: string): Promise<void> {
    if (!(await users.byId(userId)))
      throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${userId}'` });
  }

  return {
    create: adminProcedure
      .meta({
        description:
          'Creates a user: the display name defaults to the username, the role to `member`, the teams to none. A taken username answers `CONFLICT`, an unknown team `NOT_FOUND`.',
      })
      .input(createUserSchema)
      .output(userSchema)
      .mutation(async ({ input }) => {
        const teamIds = input.teamIds ?? [];
        const known = await teams.existingIds(teamIds);
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
          throw new TRPCError({
            code: 'CONFLICT',
            message: `Username '${input.username}' is taken`,
          });
        }
        return user;
      }),

    list: adminProcedure
      .meta({ description: 'Every user, by username, a page at a time.' })
      .input(pageInputSchema.optional())
      .output(z.array(userSchema))
      .query(({ input }) => {
        const page = pageOf(input);
        return pageOrRefuse(page.cursor, users.list(page));
      }),

    person: authedProcedure
      .meta({
        description:
          'Who a user id is (username and display name), so that clients show people by name wherever an id appears: message authors, incident actors and assignees. Any signed-in user may ask (ids are random, so only ids already seen can be asked about); disabled users answer as well. An id that is no user answers `null`.',
      })
      .input(userIdSchema)
      .output(personSchema.nullable())
      .query(({ input }) => users.person(input.userId)),

    setDisabled: adminProcedure
      .meta({
        description:
          'Disables a user, or enables them again. A disabled user cannot sign in (`FORBIDDEN`), their sessions end, their tokens stop working until they are enabled again, and their open streams and sockets close. Admins cannot disable themselves (`BAD_REQUEST`).',
      })
      .input(setDisabledSchema)
      .output(
        z.object({ userId: idSchema, disabled: z.boolean(), sessionsEnded: z.number().int() }),
      )
      .mutation(async ({ ctx, input }) => {
        if (input.userId === ctx.user.id && input.disabled) {
          throw new TRPCError({
            code: 'BAD_REQUEST',
            message: 'You cannot disable your own account',
          });
        }
        if (!(await users.setDisabled(input.userId, input.disabled))) {
          throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${input.userId}'` });
        }
        if (!input.disabled) return { userId: input.userId, disabled: false, sessionsEnded: 0 };
        const sessionsEnded = await auth.endUser(input.userId);
        return { userId: input.userId, disabled: true, sessionsEnded };
      }),

    revokeSessions: adminProcedure
      .meta({
        description:
          'Ends every session of a user (signs them out everywhere), closing the streams and sockets they opened; answers how many.',
      })
      .input(userIdSchema)
      .output(z.object({ count: z.number().int() }))
      .mutation(async ({ input }) => {
        await requireUser(input.userId);
        return { count: await auth.endSessionsOf(input.userId) };
      }),

    revokeTokens: adminProcedure
      .meta({
        description:
          'Revokes every API token of a user, closing the streams and sockets they opened; answers how many.',
      })
      .input(userIdSchema)
      .output(z.object({ count: z.number().int() }))
      .mutation(async ({ input }) => {
        await requireUser(input.userId);
        return { count: await auth.revokeTokensOf(input.userId) };
      }),
  } satisfies TRPCRouterRecord;
}
