import type { User } from '../../../shared/schemas/auth.ts';
import { IncidentPage } from './incident-page.tsx';
import { IncidentsBoard } from './incidents-board.tsx';
import { useLiveIncidents } from './use-live-incidents.ts';
import { usePeople } from './use-people.ts';
import './incidents.css';

/** The board and each incident's page, sharing one live stream of incident changes. */
export function IncidentsSection({ user, incidentId }: { user: User; incidentId: string | null }) {
  useLiveIncidents();
  const people = usePeople(user);
  return incidentId === null ? (
    <IncidentsBoard people={people} />
  ) : (
    <IncidentPage id={incidentId} people={people} />
  );
}
