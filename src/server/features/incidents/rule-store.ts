import { dialectOf } from '../../platform/dialect.ts';
import type { AlertRule } from '../../../shared/schemas/incidents.ts';
import type { Database, Db } from '../../platform/db.ts';
import { newId, nowIso } from '../../platform/ids.ts';

const toRule = (r: Database['alert_rules']): AlertRule => ({
  id: r.id,
  series: r.series,
  op: r.op,
  threshold: r.threshold,
  forSeconds: r.for_seconds,
  severity: r.severity,
  teamId: r.team_id,
  createdAt: r.created_at,
});

/** Alert rules: what the alert engine evaluates. All SQL for them lives here. */
export function createRuleStore(db: Db) {
  return {
    /**
     * Stores a rule unless its team already has `maxPerTeam`: counted in the insert's own
     * transaction, so concurrent creates cannot pass the cap together (SQLite runs one write
     * transaction at a time; on PostgreSQL the team's row is locked first).
     */
    async create(
      input: Omit<AlertRule, 'id' | 'createdAt'>,
      maxPerTeam: number,
    ): Promise<{ ok: true; rule: AlertRule } | { ok: false; count: number }> {
      const rule: AlertRule = { ...input, id: newId('rule'), createdAt: nowIso() };
      return db.transaction().execute(async (tx) => {
        // PostgreSQL runs writers side by side: the team's row, locked until the commit, makes
        // concurrent creates for one team count one after another.
        if (dialectOf(tx) === 'postgres') {
          await tx
            .selectFrom('teams')
            .select('id')
            .where('id', '=', rule.teamId)
            .forUpdate()
            .execute();
        }
        const { n } = await tx
          .selectFrom('alert_rules')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('team_id', '=', rule.teamId)
          .executeTakeFirstOrThrow();
        if (Number(n) >= maxPerTeam) return { ok: false as const, count: Number(n) };
        await tx
          .insertInto('alert_rules')
          .values({
            id: rule.id,
            series: rule.series,
            op: rule.op,
            threshold: rule.threshold,
            for_seconds: rule.forSeconds,
            severity: rule.severity,
            team_id: rule.teamId,
            created_at: rule.createdAt,
          })
          .execute();
        return { ok: true as const, rule };
      });
    },
    /** Every rule of the given series (all teams): the alert engine's read. */
    async ofSeries(series?: string[]): Promise<AlertRule[]> {
      if (series?.length === 0) return [];
      const rows = await db
        .selectFrom('alert_rules')
        .selectAll()
        .$if(series !== undefined, (q) => q.where('series', 'in', series ?? []))
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toRule);
    },
    /**
     * A page of the rules of the given teams (all when null), oldest first (created_at, then
     * id), after the rule `cursor`; `null` when the cursor is no rule of those teams.
     */
    async list(
      teamIds: string[] | null,
      page: { cursor: string | null; limit: number },
    ): Promise<AlertRule[] | null> {
      let after: { created_at: string; id: string } | null = null;
      if (page.cursor !== null) {
        const row = await db
          .selectFrom('alert_rules')
          .select(['created_at', 'id', 'team_id'])
          .where('id', '=', page.cursor)
          .executeTakeFirst();
        if (!row || (teamIds !== null && !teamIds.includes(row.team_id))) return null;
        after = row;
      }
      if (teamIds?.length === 0) return [];
      let query = db.selectFrom('alert_rules').selectAll();
      if (teamIds !== null) query = query.where('team_id', 'in', teamIds);
      if (after !== null) {
        const { created_at, id } = after;
        query = query.where((eb) =>
          eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(created_at, id)),
        );
      }
      const rows = await query.orderBy('created_at').orderBy('id').limit(page.limit).execute();
      return rows.map(toRule);
    },
    async teamOf(id: string): Promise<string | null> {
      const row = await db
        .selectFrom('alert_rules')
        .select('team_id')
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.team_id ?? null;
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('alert_rules').where('id', '=', id).execute();
    },
  };
}

export type RuleStore = ReturnType<typeof createRuleStore>;
