import { TRPCError } from '@trpc/server';
import type { Severity } from '../../../shared/schemas/common.ts';
import type { AlertRule, Incident, IncidentStatus } from '../../../shared/schemas/incidents.ts';
import { incidentPath } from '../../../shared/paths.ts';
import type { EventBus } from '../../platform/bus.ts';
import type { NotificationActions } from '../notifications/actions.ts';
import type { IncidentStore } from './store.ts';

const ALLOWED_FROM: Record<'acknowledge' | 'assign' | 'resolve', IncidentStatus[]> = {
  acknowledge: ['open'],
  assign: ['open', 'acknowledged'],
  resolve: ['open', 'acknowledged'],
};

/** Opening and changing incidents: each is recorded, announced, and told to who needs to know. */
export function createIncidentActions(deps: {
  store: IncidentStore;
  bus: EventBus;
  notifications: NotificationActions;
}) {
  const { store, bus, notifications } = deps;

  /** Opens an incident (by hand or from a rule), records it and tells who needs to know. */
  async function open(input: {
    teamId: string;
    title: string;
    severity: Severity;
    actorId: string | null;
    rule?: AlertRule;
  }): Promise<Incident | null> {
    const created = await store.create({
      teamId: input.teamId,
      title: input.title,
      severity: input.severity,
      ruleId: input.rule?.id ?? null,
      actorId: input.actorId,
      detail: input.rule
        ? `${input.rule.series} ${input.rule.op} ${input.rule.threshold} for ${input.rule.forSeconds}s`
        : 'opened by hand',
    });
    if (!created) return null;
    await bus.publish('incidents.changed', { seq: created.seq });
    if (input.rule) {
      await notifications.notify(
        { kind: 'team', teamId: input.teamId },
        {
          title: `Incident: ${created.incident.title}`,
          body: `Alert rule ${input.rule.series} ${input.rule.op} ${input.rule.threshold} held for ${input.rule.forSeconds}s.`,
          severity: input.severity,
          link: incidentPath(created.incident.id),
        },
      );
    }
    return created.incident;
  }

  /** Acknowledge, assign or resolve at `version`; a stale version or a closed state is a CONFLICT. */
  async function change(input: {
    id: string;
    version: number;
    action: 'acknowledge' | 'assign' | 'resolve';
    actorId: string;
    assigneeId?: string;
  }): Promise<Incident> {
    const set =
      input.action === 'acknowledge'
        ? { status: 'acknowledged' as const }
        : input.action === 'resolve'
          ? { status: 'resolved' as const }
          : { assigneeId: input.assigneeId ?? '' };
    const result = await store.transition({
      id: input.id,
      version: input.version,
      allowedFrom: ALLOWED_FROM[input.action],
      set,
      actorId: input.actorId,
      action: input.action === 'assign' ? 'assigned' : `${input.action}d`,
      detail: input.action === 'assign' ? `to ${input.assigneeId ?? ''}` : '',
    });
    if (!result.ok) {
      if (result.reason === 'not-found') {
        throw new TRPCError({ code: 'NOT_FOUND', message: `No incident '${input.id}'` });
      }
      const { current } = result;
      throw new TRPCError({
        code: 'CONFLICT',
        message:
          current.version !== input.version
            ? `Incident '${input.id}' changed meanwhile (now version ${current.version}, ${current.status})`
            : `Incident '${input.id}' is ${current.status}: cannot ${input.action}`,
      });
    }
    const { incident, seq } = result.change;
    await bus.publish('incidents.changed', { seq });
    if (input.action === 'assign' && input.assigneeId && input.assigneeId !== input.actorId) {
      await notifications.notify(
        { kind: 'users', userIds: [input.assigneeId] },
        {
          title: `Assigned to you: ${incident.title}`,
          body: `Incident ${incident.id} (${incident.severity}) is yours.`,
          severity: incident.severity,
          link: incidentPath(incident.id),
        },
      );
    }
    return incident;
  }

  return { open, change };
}

export type IncidentActions = ReturnType<typeof createIncidentActions>;
