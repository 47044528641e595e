import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import {
  assignSchema,
  createIncidentSchema,
  incidentDetailSchema,
  incidentIdSchema,
  incidentSchema,
  listIncidentsSchema,
  onIncidentChangeSchema,
  versionedSchema,
  type Incident,
} from '../../../shared/schemas/incidents.ts';
import type { User } from '../../../shared/schemas/auth.ts';
import { z } from 'zod';
import { trackedFeed } from '../../platform/hub.ts';
import { pageOf, pageOrRefuse } from '../../platform/paging.ts';
import {
  requireVisibleTeam,
  seesTeam,
  visibleOrNotFound,
  visibleTeams,
} from '../../platform/policy.ts';
import { authedProcedure } from '../../platform/trpc.ts';
import type { TeamStore, UserStore } from '../users/store.ts';
import type { IncidentActions } from './actions.ts';
import type { IncidentFeed } from './feed.ts';
import type { IncidentStore } from './store.ts';

export function createIncidentsRouter(deps: {
  incidents: IncidentStore;
  actions: IncidentActions;
  feed: IncidentFeed;
  teams: TeamStore;
  /** Who may be assigned. */
  users: UserStore;
}) {
  const { incidents, actions, feed, teams, users } = deps;

  const requireIncident = async (user: User, id: string) =>
    visibleOrNotFound(user, await incidents.get(id), `No incident '${id}'`);

  return {
    /** Newest first, a page at a time (`cursor`: the last incident of the previous page). */
    list: authedProcedure
      .input(listIncidentsSchema)
      .output(z.array(incidentSchema))
      .query(({ ctx, input }) => {
        const page = { ...pageOf(input), status: input?.status };
        return pageOrRefuse(page.cursor, incidents.list(visibleTeams(ctx.user), page));
      }),

    get: authedProcedure
      .input(incidentIdSchema)
      .output(incidentDetailSchema)
      .query(({ ctx, input }) => requireIncident(ctx.user, input.id)),

    create: authedProcedure
      .input(createIncidentSchema)
      .output(incidentSchema)
      .mutation(async ({ ctx, input }) => {
        await requireVisibleTeam(teams, ctx.user, input.teamId);
        const incident = await actions.open({ ...input, actorId: ctx.user.id });
        if (!incident)
          throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Incident not created' });
        return incident;
      }),

    acknowledge: authedProcedure
      .input(versionedSchema)
      .output(incidentSchema)
      .mutation(async ({ ctx, input }) => {
        await requireIncident(ctx.user, input.id);
        return actions.change({ ...input, action: 'acknowledge', actorId: ctx.user.id });
      }),

    assign: authedProcedure
      .input(assignSchema)
      .output(incidentSchema)
      .mutation(async ({ ctx, input }) => {
        const incident = await requireIncident(ctx.user, input.id);
        const assignee = await users.byId(input.assigneeId);
        if (!assignee || !seesTeam(assignee, incident.teamId)) {
          throw new TRPCError({
            code: 'BAD_REQUEST',
            message: `User '${input.assigneeId}' cannot take incidents of this team`,
          });
        }
        return actions.change({ ...input, action: 'assign', actorId: ctx.user.id });
      }),

    resolve: authedProcedure
      .input(versionedSchema)
      .output(incidentSchema)
      .mutation(async ({ ctx, input }) => {
        await requireIncident(ctx.user, input.id);
        return actions.change({ ...input, action: 'resolve', actorId: ctx.user.id });
      }),

    /** Every change the caller may see, creation included; replayable from `lastEventId`. */
    onChange: authedProcedure
      .input(onIncidentChangeSchema)
      .subscription(({ ctx, input }) =>
        trackedFeed<Incident>(feed.changes(visibleTeams(ctx.user), input?.lastEventId)),
      ),
  } satisfies TRPCRouterRecord;
}
