import type { ReactNode } from 'react';
import type { Incident } from '../../shared/schemas/incidents.ts';
import { RelativeTime } from './relative-time.tsx';

export const SEVERITY_LABEL = { info: 'Info', warning: 'Warning', critical: 'Critical' } as const;

export function SeverityBadge({ severity }: { severity: Incident['severity'] }) {
  return (
    <span className={`severity severity--${severity}`} title={`Severity: ${severity}`}>
      {SEVERITY_LABEL[severity]}
    </span>
  );
}

/** A failed action's reason, where the incident shows, until dismissed. */
export function FailureMessage({ text, onDismiss }: { text: string; onDismiss: () => void }) {
  return (
    <div className="failure" role="alert" data-testid="incident-failure">
      <span>{text}</span>
      <button type="button" className="link-button" onClick={onDismiss} aria-label="Dismiss">
        Dismiss
      </button>
    </div>
  );
}

export interface IncidentCardProps {
  /** As shown: the server's state with this tab's pending changes on top. */
  incident: Incident;
  href: string;
  assignee: string;
  pending: boolean;
  failure: string | null;
  onDismissFailure: () => void;
  /** The action buttons. */
  children?: ReactNode;
}

/** What a card or page says of its incident's state, for tests and assistive technology. */
export function incidentState(
  incident: Pick<Incident, 'id' | 'status' | 'version'>,
  pending: boolean,
) {
  return {
    'data-id': incident.id,
    'data-status': incident.status,
    'data-version': incident.version,
    'data-pending': pending,
    'aria-busy': pending,
  };
}

export function IncidentCard(props: IncidentCardProps) {
  const { incident, href, assignee, pending, failure, onDismissFailure, children } = props;
  return (
    <li
      className={`incident-card incident-card--${incident.severity}${pending ? ' incident-card--pending' : ''}`}
      data-testid="incident-card"
      {...incidentState(incident, pending)}
    >
      <div className="incident-card__top">
        <SeverityBadge severity={incident.severity} />
        <RelativeTime iso={incident.openedAt} />
      </div>
      <a className="incident-card__title" href={href}>
        {incident.title}
      </a>
      <p className="incident-card__meta muted small">
        Assignee: <span data-testid="assignee">{assignee}</span>
      </p>
      {failure && <FailureMessage text={failure} onDismiss={onDismissFailure} />}
      {children && <div className="incident-card__actions">{children}</div>}
    </li>
  );
}
