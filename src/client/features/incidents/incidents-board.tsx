import { useState } from 'react';
import type { Incident, IncidentStatus } from '../../../shared/schemas/incidents.ts';
import { IncidentCard } from '../../components/incident-card.tsx';
import { LoadMore } from '../../components/load-more.tsx';
import { incidentPath } from '../shell/routes.ts';
import { AlertRulesPanel } from './alert-rules-panel.tsx';
import { boardColumns, loadedIncidents } from './incident-cache.ts';
import { IncidentActions } from './incident-actions.tsx';
import { NewIncidentForm } from './new-incident-form.tsx';
import { useFailureText, useIncidentView, usePendingChanges } from './use-incident-actions.ts';
import { useIncidentList } from './use-live-incidents.ts';
import { useIncidentNames, type People } from './use-people.ts';

const COLUMNS: { status: IncidentStatus; title: string }[] = [
  { status: 'open', title: 'Open' },
  { status: 'acknowledged', title: 'Acknowledged' },
  { status: 'resolved', title: 'Resolved' },
];
/** Resolved incidents pile up; the board shows the latest of those loaded. */
const RESOLVED_SHOWN = 30;

export function IncidentsBoard({ people }: { people: People }) {
  const list = useIncidentList();
  const withPending = usePendingChanges();
  const [creating, setCreating] = useState(false);
  const incidents = loadedIncidents(list.data);
  // Columns by status as shown, so a card moves the moment its action is clicked.
  const byId = new Map(incidents.map((i) => [i.id, i]));
  const columns = boardColumns(incidents.map(withPending));

  return (
    <div className="incidents" data-testid="incident-board">
      <header className="page-header">
        <h1>Incidents</h1>
        {!creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New incident
          </button>
        )}
      </header>
      {creating && <NewIncidentForm onDone={() => setCreating(false)} />}
      {list.error && (
        <p className="error-text" role="alert">
          Could not load incidents: {list.error.message}
        </p>
      )}
      {list.isPending && <p className="muted">Loading…</p>}
      {list.data && (
        <div className="board">
          {COLUMNS.map(({ status, title }) => {
            const items = columns[status];
            const shown = status === 'resolved' ? items.slice(0, RESOLVED_SHOWN) : items;
            return (
              <section
                key={status}
                className={`board__column board__column--${status}`}
                data-testid={`column-${status}`}
                aria-labelledby={`column-${status}-title`}
              >
                <h2 id={`column-${status}-title`}>
                  {title} <span className="count">{items.length}</span>
                </h2>
                <ul>
                  {shown.map((view) => {
                    const incident = byId.get(view.id);
                    return incident ? (
                      <BoardCard key={view.id} incident={incident} people={people} />
                    ) : null;
                  })}
                </ul>
                {items.length === 0 && <p className="muted small pad">None</p>}
                {items.length > shown.length && (
                  <p className="muted small pad">and {items.length - shown.length} older</p>
                )}
              </section>
            );
          })}
        </div>
      )}
      <LoadMore
        pages={list}
        testId="incidents-more"
        className="board__more"
        buttonClassName="ghost"
      />
      <AlertRulesPanel />
    </div>
  );
}

function BoardCard({ incident, people }: { incident: Incident; people: People }) {
  const { view, pending, failure, dismissFailure } = useIncidentView(incident);
  const name = useIncidentNames(people.me, [view.assigneeId]);
  return (
    <IncidentCard
      incident={view}
      href={incidentPath(incident.id)}
      assignee={name(view.assigneeId)}
      pending={pending}
      failure={useFailureText(incident.id, failure, people.me)}
      onDismissFailure={dismissFailure}
    >
      <IncidentActions incident={incident} view={view} pending={pending} people={people} />
    </IncidentCard>
  );
}
