import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { idSchema, pageInputSchema } from '../../../shared/schemas/common.ts';
import {
  alertRuleSchema,
  assignSchema,
  createIncidentSchema,
  createRuleSchema,
  incidentDetailSchema,
  incidentIdSchema,
  incidentSchema,
  listIncidentsSchema,
  onIncidentChangeSchema,
  versionedSchema,
  type Incident,
} from '../../../shared/schemas/incidents.ts';
import type { User } from '../../../shared/schemas/auth.ts';
import { changeIncident, openIncident } from './actions.ts';
import { trackedFeed } from '../../platform/hub.ts';
import { pageOf, pageOrRefuse } from '../../platform/paging.ts';
import { incidentFeedSpec } from './feed.ts';
import type { Services } from '../../services.ts';
import { authedProcedure } from '../../platform/trpc.ts';

/** The teams whose incidents and rules the user may see: null means all (admins). */
const visibleTeams = (user: User): string[] | null => (user.role === 'admin' ? null : user.teamIds);
const canSee = (user: User, teamId: string) =>
  user.role === 'admin' || user.teamIds.includes(teamId);

async function requireTeam(services: Services, user: User, teamId: string) {
  // Teams the caller is not in answer as unknown ones: existence does not leak.
  const team = canSee(user, teamId) ? await services.users.teams.byId(teamId) : null;
  if (!team) throw new TRPCError({ code: 'NOT_FOUND', message: `No team '${teamId}'` });
  return team;
}

async function requireIncident(services: Services, user: User, id: string) {
  const incident = await services.incidents.get(id);
  if (!incident || !canSee(user, incident.teamId)) {
    throw new TRPCError({ code: 'NOT_FOUND', message: `No incident '${id}'` });
  }
  return incident;
}

export const alertsRouter = {
  /** Oldest first, a page at a time (`cursor`: the last rule of the previous page). */
  listRules: authedProcedure
    .input(pageInputSchema.optional())
    .output(z.array(alertRuleSchema))
    .query(({ ctx, input }) => {
      const page = pageOf(input);
      return pageOrRefuse(
        page.cursor,
        ctx.services.incidents.rules.list(visibleTeams(ctx.user), page),
      );
    }),

  createRule: authedProcedure
    .input(createRuleSchema)
    .output(alertRuleSchema)
    .mutation(async ({ ctx, input }) => {
      const team = await requireTeam(ctx.services, ctx.user, input.teamId);
      const max = ctx.services.env.PULSE_MAX_RULES_PER_TEAM;
      const created = await ctx.services.incidents.rules.create(input, max);
      if (!created.ok) {
        throw new TRPCError({
          code: 'TOO_MANY_REQUESTS',
          message: `Team '${team.name}' has ${created.count} alert rules, its limit is ${max}: delete one first`,
        });
      }
      return created.rule;
    }),

  deleteRule: authedProcedure
    .input(z.object({ id: idSchema }))
    .output(z.object({ ok: z.literal(true) }))
    .mutation(async ({ ctx, input }) => {
      const teamId = await ctx.services.incidents.rules.teamOf(input.id);
      if (teamId === null || !canSee(ctx.user, teamId)) {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No rule '${input.id}'` });
      }
      await ctx.services.incidents.rules.delete(input.id);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;

export const incidentsRouter = {
  /** Newest first, a page at a time (`cursor`: the last incident of the previous page). */
  list: authedProcedure
    .input(listIncidentsSchema)
    .output(z.array(incidentSchema))
    .query(({ ctx, input }) => {
      const page = { ...pageOf(input), status: input?.status };
      return pageOrRefuse(page.cursor, ctx.services.incidents.list(visibleTeams(ctx.user), page));
    }),

  get: authedProcedure
    .input(incidentIdSchema)
    .output(incidentDetailSchema)
    .query(({ ctx, input }) => requireIncident(ctx.services, ctx.user, input.id)),

  create: authedProcedure
    .input(createIncidentSchema)
    .output(incidentSchema)
    .mutation(async ({ ctx, input }) => {
      await requireTeam(ctx.services, ctx.user, input.teamId);
      const incident = await openIncident(ctx.services, { ...input, actorId: ctx.user.id });
      if (!incident)
        throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Incident not created' });
      return incident;
    }),

  acknowledge: authedProcedure
    .input(versionedSchema)
    .output(incidentSchema)
    .mutation(async ({ ctx, input }) => {
      await requireIncident(ctx.services, ctx.user, input.id);
      return changeIncident(ctx.services, {
        ...input,
        action: 'acknowledge',
        actorId: ctx.user.id,
      });
    }),

  assign: authedProcedure
    .input(assignSchema)
    .output(incidentSchema)
    .mutation(async ({ ctx, input }) => {
      const incident = await requireIncident(ctx.services, ctx.user, input.id);
      const assignee = await ctx.services.users.byId(input.assigneeId);
      if (!assignee || !canSee(assignee, incident.teamId)) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `User '${input.assigneeId}' cannot take incidents of this team`,
        });
      }
      return changeIncident(ctx.services, { ...input, action: 'assign', actorId: ctx.user.id });
    }),

  resolve: authedProcedure
    .input(versionedSchema)
    .output(incidentSchema)
    .mutation(async ({ ctx, input }) => {
      await requireIncident(ctx.services, ctx.user, input.id);
      return changeIncident(ctx.services, { ...input, action: 'resolve', actorId: ctx.user.id });
    }),

  /** Every change the caller may see, creation included; replayable from `lastEventId`. */
  onChange: authedProcedure
    .input(onIncidentChangeSchema)
    .subscription(({ ctx, input }) =>
      trackedFeed<Incident>(
        incidentFeedSpec(
          ctx.services.hub,
          ctx.services.incidents,
          visibleTeams(ctx.user),
          input?.lastEventId,
        ),
      ),
    ),
} satisfies TRPCRouterRecord;
