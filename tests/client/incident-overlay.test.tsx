// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import {
  useIncidentActions,
  useIncidentView,
} from '../../src/client/features/incidents/use-incident-actions.ts';
import type { Incident } from '../../src/shared/schemas/incidents.ts';
import { serverError } from '../support/fake-link.ts';
import { deferred } from '../support/live.ts';
import { renderWithClients } from '../support/react.tsx';

const incident: Incident = {
  id: 'inc_1',
  teamId: 'team_ops',
  title: 'Disk full on db-2',
  severity: 'critical',
  status: 'open',
  assigneeId: null,
  version: 1,
  openedAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  ruleId: null,
};

/** One incident as a card shows it, with the resolve action and the failure's dismiss. */
function Card() {
  const { view, pending, failure, dismissFailure } = useIncidentView(incident);
  const actions = useIncidentActions(incident);
  return (
    <div data-testid="card" data-status={view.status} data-pending={pending}>
      {failure && <p role="alert">{failure}</p>}
      <button type="button" onClick={actions.resolve}>
        Resolve
      </button>
      <button type="button" onClick={dismissFailure}>
        Dismiss
      </button>
    </div>
  );
}

const card = () => screen.getByTestId('card');

afterEach(cleanup);

describe('incident actions in flight', () => {
  it('are drawn over the incident, and go with the caches at sign-out', async () => {
    const answer = deferred<Incident>();
    const { clients } = renderWithClients(<Card />, {
      'incidents.resolve': () => answer.promise,
    });
    fireEvent.click(screen.getByText('Resolve'));
    await waitFor(() => expect(card().dataset['status']).toBe('resolved'));
    expect(card().dataset['pending']).toBe('true');

    // What the sign-in page does to the caches of whoever signed out.
    act(() => clients.queryClient.getMutationCache().clear());
    await waitFor(() => expect(card().dataset['status']).toBe('open'));
    expect(card().dataset['pending']).toBe('false');
    answer.resolve({ ...incident, status: 'resolved', version: 2 });
  });

  it('roll back when refused, saying why until dismissed', async () => {
    renderWithClients(<Card />, {
      'incidents.resolve': () => {
        throw serverError('CONFLICT', "Incident 'inc_1' changed meanwhile");
      },
    });
    fireEvent.click(screen.getByText('Resolve'));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe("Could not resolve: Incident 'inc_1' changed meanwhile");
    expect(card().dataset['status']).toBe('open');
    expect(card().dataset['pending']).toBe('false');

    fireEvent.click(screen.getByText('Dismiss'));
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
  });

  it('hide the last failure once another action starts', async () => {
    let calls = 0;
    const second = deferred<Incident>();
    renderWithClients(<Card />, {
      'incidents.resolve': () => {
        calls++;
        if (calls === 1) throw serverError('CONFLICT', 'changed meanwhile');
        return second.promise;
      },
    });
    fireEvent.click(screen.getByText('Resolve'));
    await screen.findByRole('alert');
    fireEvent.click(screen.getByText('Resolve'));
    await waitFor(() => expect(card().dataset['pending']).toBe('true'));
    expect(screen.queryByRole('alert')).toBeNull();
    second.resolve({ ...incident, status: 'resolved', version: 2 });
    await waitFor(() => expect(card().dataset['pending']).toBe('false'));
  });
});
