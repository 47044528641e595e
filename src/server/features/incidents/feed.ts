import { incidentSchema, type Incident } from '../../../shared/schemas/incidents.ts';
import type { EventBus } from '../../platform/bus.ts';
import { changeId, changeSeq, type IncidentChange, type IncidentStore } from './store.ts';
import {
  liveEvent,
  replayLog,
  type FeedSpec,
  type Hub,
  type LiveEvent,
} from '../../platform/hub.ts';
import { followLog } from '../../platform/log-follower.ts';

const teamChannel = (teamId: string) => `incidents:team:${teamId}`;
const ALL = 'incidents:all';

function changeEvent(change: IncidentChange): LiveEvent {
  const incident = incidentSchema.parse(change.incident);
  return liveEvent(incident, changeId(change.seq), change.seq, Date.parse(incident.updatedAt));
}

/**
 * What `incidents.onChange` streams. Once started, incident changes go from the change log to
 * the channels of their team (and admins').
 */
export function createIncidentFeed(deps: { bus: EventBus; hub: Hub; store: IncidentStore }) {
  const { bus, hub, store } = deps;
  return {
    start(signal: AbortSignal): { ready: Promise<void> } {
      const follower = followLog({
        signal,
        what: 'incident',
        announcements: () => bus.subscribe('incidents.changed', signal),
        start: () => store.maxChangeSeq(),
        read: (after, limit) => store.changesAfter(after, null, limit),
        seqOf: (c) => c.seq,
        onRow(change) {
          const event = changeEvent(change);
          const incident = event.data as Incident;
          hub.metrics.counts.published++;
          hub.dispatch(teamChannel(incident.teamId), event);
          hub.dispatch(ALL, event);
        },
      });
      return { ready: follower.ready };
    },

    /** The changes of the given teams (all when null), replayable from `lastEventId`. */
    changes(teamIds: string[] | null, lastEventId: string | null | undefined): FeedSpec {
      return {
        hub,
        channel: teamIds === null ? ALL : teamIds.map(teamChannel),
        lastEventId,
        replay: replayLog({
          seqOf: changeSeq,
          async mayResumeFrom(seq) {
            const team = await store.changeTeam(seq);
            return team !== null && (teamIds === null || teamIds.includes(team));
          },
          after: (seq, limit) => store.changesAfter(seq, teamIds, limit),
          toEvent: changeEvent,
        }),
      };
    },
  };
}

export type IncidentFeed = ReturnType<typeof createIncidentFeed>;
