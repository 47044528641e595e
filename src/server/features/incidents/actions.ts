import { TRPCError } from '@trpc/server';
import type { Severity } from '../../../shared/schemas/common.ts';
import type { AlertRule, Incident, IncidentStatus } from '../../../shared/schemas/incidents.ts';
import { notify } from '../notifications/actions.ts';
import type { Services } from '../../services.ts';

type Deps = Pick<Services, 'incidents' | 'notifications' | 'bus' | 'users'>;

const link = (incident: Incident) => `/incidents/${incident.id}`;

/** Opens an incident (by hand or from a rule), records it and tells who needs to know. */
export async function openIncident(
  services: Deps,
  input: { teamId: string; title: string; severity: Severity; actorId: string | null; rule?: AlertRule },
): Promise<Incident | null> {
  const change = await services.incidents.create({
    teamId: input.teamId,
    title: input.title,
    severity: input.severity,
    ruleId: input.rule?.id ?? null,
    actorId: input.actorId,
    detail: input.rule
      ? `${input.rule.series} ${input.rule.op} ${input.rule.threshold} for ${input.rule.forSeconds}s`
      : 'opened by hand',
  });
  if (!change) return null;
  await services.bus.publish('incidents.changed', { seq: change.seq });
  if (input.rule) {
    await notify(services, { kind: 'team', teamId: input.teamId }, {
      title: `Incident: ${change.incident.title}`,
      body: `Alert rule ${input.rule.series} ${input.rule.op} ${input.rule.threshold} held for ${input.rule.forSeconds}s.`,
      severity: input.severity,
      link: link(change.incident),
    });
  }
  return change.incident;
}

const ALLOWED_FROM: Record<'acknowledge' | 'assign' | 'resolve', IncidentStatus[]> = {
  acknowledge: ['open'],
  assign: ['open', 'acknowledged'],
  resolve: ['open', 'acknowledged'],
};

/** Acknowledge, assign or resolve at `version`; a stale version or a closed state is a CONFLICT. */
export async function changeIncident(
  services: Deps,
  input: {
    id: string;
    version: number;
    action: 'acknowledge' | 'assign' | 'resolve';
    actorId: string;
    assigneeId?: string;
  },
): Promise<Incident> {
  const set =
    input.action === 'acknowledge'
      ? { status: 'acknowledged' as const }
      : input.action === 'resolve'
        ? { status: 'resolved' as const }
        : { assigneeId: input.assigneeId ?? '' };
  const result = await services.incidents.transition({
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
  await services.bus.publish('incidents.changed', { seq });
  if (input.action === 'assign' && input.assigneeId && input.assigneeId !== input.actorId) {
    await notify(services, { kind: 'users', userIds: [input.assigneeId] }, {
      title: `Assigned to you: ${incident.title}`,
      body: `Incident ${incident.id} (${incident.severity}) is yours.`,
      severity: incident.severity,
      link: link(incident),
    });
  }
  return incident;
}
