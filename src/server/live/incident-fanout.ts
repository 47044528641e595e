import { TRPCError } from '@trpc/server';
import { incidentSchema } from '../../shared/schemas/incidents.ts';
import type { EventBus } from '../bus.ts';
import { changeId, changeSeq, type IncidentStore } from '../store/incidents.ts';
import { liveEvent, type FeedSpec, type Hub, type LiveEvent } from './hub.ts';
import { followLog } from './log-follower.ts';

const teamChannel = (teamId: string) => `incidents:team:${teamId}`;
const ALL = 'incidents:all';

/** Incident changes, from the change log to the channels of their team (and admins'). */
export function startIncidentFanout(opts: { bus: EventBus; hub: Hub; store: IncidentStore; signal: AbortSignal }) {
  const { bus, hub, store, signal } = opts;
  const follower = followLog({
    signal,
    what: 'incident',
    announcements: bus.subscribe('incidents.changed', signal),
    start: () => store.maxChangeSeq(),
    read: (after, limit) => store.changesAfter(after, null, limit),
    seqOf: (c) => c.seq,
    onRow(change) {
      const incident = incidentSchema.parse(change.incident);
      const event = liveEvent(incident, changeId(change.seq), change.seq, Date.parse(incident.updatedAt));
      hub.metrics.counts.published++;
      hub.dispatch(teamChannel(incident.teamId), event);
      hub.dispatch(ALL, event);
    },
  });
  return { ready: follower.ready };
}

/** What `incidents.onChange` streams for a caller: their teams' changes, or all for admins. */
export function incidentFeedSpec(
  hub: Hub,
  store: IncidentStore,
  teamIds: string[] | null,
  lastEventId: string | null | undefined,
): FeedSpec {
  return {
    hub,
    channel: teamIds === null ? ALL : teamIds.map(teamChannel),
    lastEventId,
    replay: {
      async resolve(id) {
        const seq = changeSeq(id);
        const team = seq === null ? null : await store.changeTeam(seq);
        if (seq === null || team === null || (teamIds !== null && !teamIds.includes(team))) {
          throw new TRPCError({
            code: 'PRECONDITION_FAILED',
            message: `Cannot resume from '${id}': refetch and subscribe afresh`,
          });
        }
        return seq;
      },
      async after(seq, limit): Promise<LiveEvent[]> {
        const changes = await store.changesAfter(seq, teamIds, limit);
        return changes.map((c) => {
          const incident = incidentSchema.parse(c.incident);
          return liveEvent(incident, changeId(c.seq), c.seq, Date.parse(incident.updatedAt));
        });
      },
    },
  };
}
