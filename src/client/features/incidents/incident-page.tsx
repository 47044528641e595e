import type { IncidentDetail } from '../../../shared/schemas/incidents.ts';
import { FailureMessage, incidentState, SeverityBadge } from '../../components/incident-card.tsx';
import { RelativeTime } from '../../components/relative-time.tsx';
import { errorCode } from '../../lib/errors.ts';
import { ChatPanel } from '../chat/chat-panel.tsx';
import { incidentRoomId } from '../../../shared/rooms.ts';
import { IncidentActions } from './incident-actions.tsx';
import { detailWithNames, timelineUserIds } from './incident-text.ts';
import { useFailureText, useIncidentView } from './use-incident-actions.ts';
import { useIncident } from './use-live-incidents.ts';
import { useIncidentNames, type People } from './use-people.ts';

const STATUS_LABEL = { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' } as const;

export function IncidentPage({ id, people }: { id: string; people: People }) {
  const incident = useIncident(id);
  return (
    <div className="incident-page" data-testid="incident-page">
      <p className="small">
        <a href="/incidents">← All incidents</a>
      </p>
      {incident.isPending && <p className="muted">Loading…</p>}
      {incident.error && (
        <p className="error-text" role="alert">
          {errorCode(incident.error) === 'NOT_FOUND'
            ? `No incident '${id}' (or not one of your teams')`
            : `Could not load the incident: ${incident.error.message}`}
        </p>
      )}
      {incident.data && <IncidentDetails incident={incident.data} people={people} />}
      {incident.data && <ChatPanel roomId={incidentRoomId(id)} heading="Incident chat" />}
    </div>
  );
}

function IncidentDetails({ incident, people }: { incident: IncidentDetail; people: People }) {
  const { view, pending, failure, dismissFailure } = useIncidentView(incident);
  const failureText = useFailureText(incident.id, failure, people.me);
  const name = useIncidentNames(people.me, [
    view.assigneeId,
    ...timelineUserIds(incident.timeline),
  ]);
  return (
    <article
      className="card incident-detail"
      data-testid="incident-detail"
      {...incidentState(view, pending)}
    >
      <header className="incident-detail__header">
        <SeverityBadge severity={view.severity} />
        <h1>{view.title}</h1>
        <span className={`status status--${view.status}`} data-testid="incident-status">
          {STATUS_LABEL[view.status]}
        </span>
      </header>
      <dl className="facts">
        <dt>Assignee</dt>
        <dd data-testid="assignee">{name(view.assigneeId)}</dd>
        <dt>Team</dt>
        <dd>{people.teamName(view.teamId)}</dd>
        <dt>Opened</dt>
        <dd>
          <RelativeTime iso={view.openedAt} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <RelativeTime iso={view.updatedAt} />
        </dd>
        <dt>Origin</dt>
        <dd>{view.ruleId ? `alert rule ${view.ruleId}` : 'opened by hand'}</dd>
        <dt>Version</dt>
        <dd>{view.version}</dd>
      </dl>
      {failureText && <FailureMessage text={failureText} onDismiss={dismissFailure} />}
      <div className="incident-detail__actions">
        <IncidentActions incident={incident} view={view} pending={pending} people={people} />
      </div>
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <ol className="timeline" data-testid="timeline">
          {incident.timeline.map((entry, i) => (
            <li key={`${entry.at}-${i}`} className="timeline__entry" data-action={entry.action}>
              <RelativeTime iso={entry.at} />
              <span className="timeline__what">
                <strong>{entry.actorId === null ? 'Pulse' : name(entry.actorId)}</strong>{' '}
                {entry.action}
                {entry.detail && (
                  <span className="timeline__detail">
                    {' · '}
                    {detailWithNames(entry.detail, name)}
                  </span>
                )}
              </span>
            </li>
          ))}
        </ol>
      </section>
    </article>
  );
}
