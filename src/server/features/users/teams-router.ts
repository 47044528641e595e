import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import {
  addMemberSchema,
  createTeamSchema,
  teamSchema,
  userSchema,
} from '../../../shared/schemas/auth.ts';
import { personSchema } from '../../../shared/schemas/chat.ts';
import { idSchema } from '../../../shared/schemas/common.ts';
import { seesTeam } from '../../platform/policy.ts';
import { adminProcedure, authedProcedure } from '../../platform/trpc.ts';
import type { AuthActions } from '../auth/actions.ts';
import type { UserStore } from './store.ts';
import type { TeamStore } from './team-store.ts';

export function createTeamsRouter(deps: {
  teams: TeamStore;
  users: UserStore;
  auth: Pick<AuthActions, 'userChanged'>;
}) {
  const { teams, users, auth } = deps;
  return {
    create: adminProcedure
      .meta({
        description:
          'Creates a team; its chat room is `room_<teamId>`. A taken name answers `CONFLICT`.',
      })
      .input(createTeamSchema)
      .output(teamSchema)
      .mutation(async ({ input }) => {
        const team = await teams.create(input.name);
        if (!team)
          throw new TRPCError({ code: 'CONFLICT', message: `Team '${input.name}' exists` });
        return team;
      }),

    list: authedProcedure
      .meta({ description: 'Admins see every team; members see their own.' })
      .output(z.array(teamSchema))
      .query(async ({ ctx }) => {
        const all = await teams.list();
        return all.filter((t) => seesTeam(ctx.user, t.id));
      }),

    members: authedProcedure
      .meta({
        description:
          "A team's people (for names, assignees and mentions), for admins and the team's own members; anyone else gets `NOT_FOUND`, as for a team that does not exist.",
      })
      .input(z.object({ teamId: idSchema }))
      .output(z.array(personSchema))
      .query(async ({ ctx, input }) => {
        if (!seesTeam(ctx.user, input.teamId)) {
          throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${input.teamId}'` });
        }
        return teams.people(input.teamId);
      }),

    addMember: adminProcedure
      .meta({
        description:
          'Adds a user to a team (again: nothing changes) and answers the user with their teams. An unknown team or user answers `NOT_FOUND`.',
      })
      .input(addMemberSchema)
      .output(userSchema)
      .mutation(async ({ input }) => {
        if (!(await teams.byId(input.teamId))) {
          throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${input.teamId}'` });
        }
        if (!(await users.byId(input.userId))) {
          throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${input.userId}'` });
        }
        await teams.addMember(input.teamId, input.userId);
        await auth.userChanged(input.userId);
        const user = await users.byId(input.userId);
        if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `No user '${input.userId}'` });
        return user;
      }),
  } satisfies TRPCRouterRecord;
}
