import type { ReactNode } from 'react';
import type { Incident } from '../../../shared/schemas/incidents.ts';
import type { People } from './use-people.ts';
import { useIncidentActions } from './use-incident-actions.ts';

export interface IncidentActionsProps {
  /** The server's state: its version is what the actions are sent with. */
  incident: Incident;
  /** As shown (pending changes on top): decides which actions make sense. */
  view: Incident;
  pending: boolean;
  people: People;
}

/**
 * Acknowledge, take or assign, resolve. Disabled while one is in flight: the next would carry
 * the version the first one is about to change.
 */
export function IncidentActions({ incident, view, pending, people }: IncidentActionsProps) {
  const actions = useIncidentActions(incident);
  if (view.status === 'resolved') return null;
  const { me } = people;
  const candidates = people.candidates(view.teamId);
  return (
    <>
      {view.status === 'open' && (
        <ActionButton action="acknowledge" pending={pending} onClick={actions.acknowledge}>
          Acknowledge
        </ActionButton>
      )}
      {view.assigneeId !== me.id && (
        <ActionButton action="take" pending={pending} onClick={() => actions.assign(me.id)}>
          Take it
        </ActionButton>
      )}
      {candidates.length > 0 && (
        <select
          className="small-select"
          aria-label={`Assign “${view.title}” to`}
          data-action="assign"
          disabled={pending}
          value={view.assigneeId ?? ''}
          onChange={(e) => {
            if (e.target.value) actions.assign(e.target.value);
          }}
        >
          <option value="" disabled>
            Assign to…
          </option>
          {candidates.map((u) => (
            <option key={u.id} value={u.id}>
              {u.displayName}
            </option>
          ))}
        </select>
      )}
      <ActionButton action="resolve" pending={pending} onClick={actions.resolve}>
        Resolve
      </ActionButton>
    </>
  );
}

function ActionButton(props: {
  action: string;
  pending: boolean;
  onClick: () => void;
  children: ReactNode;
}) {
  return (
    <button
      type="button"
      className="ghost small-button"
      data-action={props.action}
      disabled={props.pending}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}
