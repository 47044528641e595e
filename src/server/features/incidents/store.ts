import type { Severity } from '../../../shared/schemas/common.ts';
import type {
  Incident,
  IncidentDetail,
  IncidentStatus,
} from '../../../shared/schemas/incidents.ts';
import type { Database, Db } from '../../platform/db.ts';
import { isUniqueViolation } from '../../platform/dialect.ts';
import { newId, nowIso } from '../../platform/ids.ts';
import { lockForAppend } from '../../platform/log-lock.ts';

type IncidentRow = Database['incidents'];

const toIncident = (r: IncidentRow): Incident => ({
  id: r.id,
  teamId: r.team_id,
  title: r.title,
  severity: r.severity,
  status: r.status,
  assigneeId: r.assignee_id,
  version: r.version,
  openedAt: r.opened_at,
  updatedAt: r.updated_at,
  ruleId: r.rule_id,
});

const CHANGE_PREFIX = 'chg_';
export const changeId = (seq: number) => `${CHANGE_PREFIX}${seq}`;
export function changeSeq(id: string): number | null {
  if (!id.startsWith(CHANGE_PREFIX)) return null;
  const seq = Number(id.slice(CHANGE_PREFIX.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

export interface IncidentChange {
  seq: number;
  incident: Incident;
}

export type TransitionResult =
  | { ok: true; change: IncidentChange }
  | { ok: false; reason: 'not-found' }
  | { ok: false; reason: 'conflict'; current: Incident };

/** Incidents, their timelines and their change log (for onChange). */
export function createIncidentStore(db: Db) {
  type Tx = Parameters<Parameters<ReturnType<Db['transaction']>['execute']>[0]>[0];

  /** Appends the change; the last statement of its transaction (the log lock is held to the commit). */
  async function logChange(tx: Tx, incident: Incident, at: string): Promise<number> {
    await lockForAppend(tx, 'incident_changes');
    const row = await tx
      .insertInto('incident_changes')
      .values({
        incident_id: incident.id,
        team_id: incident.teamId,
        snapshot: JSON.stringify(incident),
        at,
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    return row.seq;
  }

  return {
    /** Opens an incident; `null` when its rule already has an unresolved one. */
    async create(input: {
      teamId: string;
      title: string;
      severity: Severity;
      ruleId: string | null;
      actorId: string | null;
      detail: string;
    }): Promise<IncidentChange | null> {
      const at = nowIso();
      const row: IncidentRow = {
        id: newId('inc'),
        team_id: input.teamId,
        title: input.title,
        severity: input.severity,
        status: 'open',
        assignee_id: null,
        version: 1,
        opened_at: at,
        updated_at: at,
        rule_id: input.ruleId,
      };
      try {
        return await opened();
      } catch (error) {
        // Another instance's engine opened one for this rule meanwhile: the unique index of
        // open incidents per rule refused this one.
        if (input.ruleId && isUniqueViolation(error, 'incidents_open_per_rule')) return null;
        throw error;
      }
      function opened() {
        return db.transaction().execute(async (tx) => {
          if (input.ruleId) {
            const open = await tx
              .selectFrom('incidents')
              .select('id')
              .where('rule_id', '=', input.ruleId)
              .where('status', '!=', 'resolved')
              .executeTakeFirst();
            if (open) return null;
          }
          await tx.insertInto('incidents').values(row).execute();
          await tx
            .insertInto('incident_timeline')
            .values({
              incident_id: row.id,
              at,
              actor_id: input.actorId,
              action: 'opened',
              detail: input.detail,
            })
            .execute();
          const incident = toIncident(row);
          return { seq: await logChange(tx, incident, at), incident };
        });
      }
    },

    /** Applies a change if `version` is current; the version grows by one. */
    async transition(input: {
      id: string;
      version: number;
      allowedFrom: IncidentStatus[];
      set: { status?: IncidentStatus; assigneeId?: string };
      actorId: string;
      action: string;
      detail: string;
    }): Promise<TransitionResult> {
      return db.transaction().execute(async (tx): Promise<TransitionResult> => {
        const current = await tx
          .selectFrom('incidents')
          .selectAll()
          .where('id', '=', input.id)
          .executeTakeFirst();
        if (!current) return { ok: false, reason: 'not-found' };
        if (current.version !== input.version || !input.allowedFrom.includes(current.status)) {
          return { ok: false, reason: 'conflict', current: toIncident(current) };
        }
        const at = nowIso();
        const next: IncidentRow = {
          ...current,
          status: input.set.status ?? current.status,
          assignee_id: input.set.assigneeId ?? current.assignee_id,
          version: current.version + 1,
          updated_at: at,
        };
        const res = await tx
          .updateTable('incidents')
          .set({
            status: next.status,
            assignee_id: next.assignee_id,
            version: next.version,
            updated_at: at,
          })
          .where('id', '=', input.id)
          .where('version', '=', input.version)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1)
          return { ok: false, reason: 'conflict', current: toIncident(current) };
        await tx
          .insertInto('incident_timeline')
          .values({
            incident_id: input.id,
            at,
            actor_id: input.actorId,
            action: input.action,
            detail: input.detail,
          })
          .execute();
        const incident = toIncident(next);
        return { ok: true, change: { seq: await logChange(tx, incident, at), incident } };
      });
    },

    async get(id: string): Promise<IncidentDetail | null> {
      const row = await db
        .selectFrom('incidents')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return null;
      const timeline = await db
        .selectFrom('incident_timeline')
        .select(['at', 'actor_id', 'action', 'detail'])
        .where('incident_id', '=', id)
        .orderBy('id')
        .execute();
      return {
        ...toIncident(row),
        timeline: timeline.map((t) => ({
          at: t.at,
          actorId: t.actor_id,
          action: t.action,
          detail: t.detail,
        })),
      };
    },

    /**
     * A page of the incidents of the given teams (all teams when `teamIds` is null), newest
     * first (opened_at, then id, both descending), after the incident `cursor`; `null` when the
     * cursor is no incident of those teams.
     */
    async list(
      teamIds: string[] | null,
      page: { status?: IncidentStatus | undefined; cursor: string | null; limit: number },
    ): Promise<Incident[] | null> {
      let after: { opened_at: string; id: string } | null = null;
      if (page.cursor !== null) {
        const row = await db
          .selectFrom('incidents')
          .select(['opened_at', 'id', 'team_id'])
          .where('id', '=', page.cursor)
          .executeTakeFirst();
        if (!row || (teamIds !== null && !teamIds.includes(row.team_id))) return null;
        after = row;
      }
      if (teamIds?.length === 0) return [];
      const { status } = page;
      let query = db.selectFrom('incidents').selectAll();
      if (teamIds !== null) query = query.where('team_id', 'in', teamIds);
      if (status !== undefined) query = query.where('status', '=', status);
      if (after !== null) {
        const { opened_at, id } = after;
        query = query.where((eb) =>
          eb(eb.refTuple('opened_at', 'id'), '<', eb.tuple(opened_at, id)),
        );
      }
      const rows = await query
        .orderBy('opened_at', 'desc')
        .orderBy('id', 'desc')
        .limit(page.limit)
        .execute();
      return rows.map(toIncident);
    },

    /** Changes after `seq` of the given teams (all when null), oldest first. */
    async changesAfter(
      seq: number,
      teamIds: string[] | null,
      limit: number,
    ): Promise<IncidentChange[]> {
      if (teamIds?.length === 0) return [];
      const rows = await db
        .selectFrom('incident_changes')
        .select(['seq', 'snapshot'])
        .where('seq', '>', seq)
        .$if(teamIds !== null, (q) => q.where('team_id', 'in', teamIds ?? []))
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ seq: r.seq, incident: JSON.parse(r.snapshot) as Incident }));
    },

    async changeTeam(seq: number): Promise<string | null> {
      const row = await db
        .selectFrom('incident_changes')
        .select('team_id')
        .where('seq', '=', seq)
        .executeTakeFirst();
      return row?.team_id ?? null;
    },

    async maxChangeSeq(): Promise<number> {
      const row = await db
        .selectFrom('incident_changes')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      return Number(row?.seq ?? 0);
    },
  };
}

export type IncidentStore = ReturnType<typeof createIncidentStore>;
