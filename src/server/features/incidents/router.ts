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
    list: authedProcedure
      .meta({
        description:
          "The incidents of the caller's teams (admins: every team's), newest first (`openedAt`, then `id`, both descending), of one `status` or all, a page at a time.",
      })
      .input(listIncidentsSchema)
      .output(z.array(incidentSchema))
      .query(({ ctx, input }) => {
        const page = { ...pageOf(input), status: input?.status };
        return pageOrRefuse(page.cursor, incidents.list(visibleTeams(ctx.user), page));
      }),

    get: authedProcedure
      .meta({
        description:
          'One incident with its timeline, oldest entry first. An incident of another team answers `NOT_FOUND`, as an unknown id does.',
      })
      .input(incidentIdSchema)
      .output(incidentDetailSchema)
      .query(({ ctx, input }) => requireIncident(ctx.user, input.id)),

    create: authedProcedure
      .meta({
        description:
          "Opens an incident (`open`, version 1) in one of the caller's teams (admins: any; another team answers `NOT_FOUND`).",
      })
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
      .meta({
        description:
          'Acknowledges an `open` incident, at the version the caller saw, and answers it at its next version. A stale version, or an incident in another state, answers `CONFLICT` naming its current state and changes nothing.',
      })
      .input(versionedSchema)
      .output(incidentSchema)
      .mutation(async ({ ctx, input }) => {
        await requireIncident(ctx.user, input.id);
        return actions.change({ ...input, action: 'acknowledge', actorId: ctx.user.id });
      }),

    assign: authedProcedure
      .meta({
        description:
          'Assigns an `open` or `acknowledged` incident, at the version the caller saw, to someone of its team (or an admin), and notifies them. Anyone else answers `BAD_REQUEST`; a stale version or another state answers `CONFLICT` naming its current state, and changes nothing.',
      })
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
      .meta({
        description:
          'Resolves an `open` or `acknowledged` incident at the version the caller saw. A stale version or another state answers `CONFLICT` naming its current state, and changes nothing.',
      })
      .input(versionedSchema)
      .output(incidentSchema)
      .mutation(async ({ ctx, input }) => {
        await requireIncident(ctx.user, input.id);
        return actions.change({ ...input, action: 'resolve', actorId: ctx.user.id });
      }),

    onChange: authedProcedure
      .meta({
        description:
          "Every change to the incidents the caller may see, creation included: the incident as it is after the change, tracked by the change's id, in one order on every instance. It replays from `lastEventId` and resumes exactly as `notifications.onNotification` does.",
        yields: incidentSchema,
        tracked: true,
      })
      .input(onIncidentChangeSchema)
      .subscription(({ ctx, input }) =>
        trackedFeed<Incident>(feed.changes(visibleTeams(ctx.user), input?.lastEventId)),
      ),
  } satisfies TRPCRouterRecord;
}
