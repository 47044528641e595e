import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { idSchema, pageInputSchema } from '../../../shared/schemas/common.ts';
import { alertRuleSchema, createRuleSchema } from '../../../shared/schemas/incidents.ts';
import type { Env } from '../../env.ts';
import { pageOf, pageOrRefuse } from '../../platform/paging.ts';
import { requireVisibleTeam, seesTeam, visibleTeams } from '../../platform/policy.ts';
import { authedProcedure } from '../../platform/trpc.ts';
import type { TeamStore } from '../users/store.ts';
import type { RuleStore } from './rule-store.ts';

/** Alert rules (`alerts.*`): what opens incidents when a series holds past a threshold. */
export function createRulesRouter(deps: {
  rules: RuleStore;
  teams: TeamStore;
  env: Pick<Env, 'PULSE_MAX_RULES_PER_TEAM'>;
}) {
  const { rules, teams, env } = deps;
  return {
    listRules: authedProcedure
      .meta({
        description:
          "The alert rules of the caller's teams (admins: every team's), oldest first (`createdAt`, then `id`), a page at a time.",
      })
      .input(pageInputSchema.optional())
      .output(z.array(alertRuleSchema))
      .query(({ ctx, input }) => {
        const page = pageOf(input);
        return pageOrRefuse(page.cursor, rules.list(visibleTeams(ctx.user), page));
      }),

    createRule: authedProcedure
      .meta({
        description:
          "Creates an alert rule for one of the caller's teams (admins: any). Its condition holds when every point of the series in the last `forSeconds` satisfies it and the first of them is at least `forSeconds` old; it then opens an incident in the team (one per rule while unresolved) and notifies the team. A team with `PULSE_MAX_RULES_PER_TEAM` rules answers `TOO_MANY_REQUESTS` naming the team and the limit, and stores nothing.",
      })
      .input(createRuleSchema)
      .output(alertRuleSchema)
      .mutation(async ({ ctx, input }) => {
        const team = await requireVisibleTeam(teams, ctx.user, input.teamId);
        const max = env.PULSE_MAX_RULES_PER_TEAM;
        const created = await rules.create(input, max);
        if (!created.ok) {
          throw new TRPCError({
            code: 'TOO_MANY_REQUESTS',
            message: `Team '${team.name}' has ${created.count} alert rules, its limit is ${max}: delete one first`,
          });
        }
        return created.rule;
      }),

    deleteRule: authedProcedure
      .meta({
        description:
          "Deletes a rule of one of the caller's teams (admins: any); any other id answers `NOT_FOUND`.",
      })
      .input(z.object({ id: idSchema }))
      .output(z.object({ ok: z.literal(true) }))
      .mutation(async ({ ctx, input }) => {
        const teamId = await rules.teamOf(input.id);
        if (teamId === null || !seesTeam(ctx.user, teamId)) {
          throw new TRPCError({ code: 'NOT_FOUND', message: `No rule '${input.id}'` });
        }
        await rules.delete(input.id);
        return { ok: true as const };
      }),
  } satisfies TRPCRouterRecord;
}
