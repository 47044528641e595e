// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import {
  useFailureText,
  useIncidentActions,
  useIncidentView,
} from '../../src/client/features/incidents/use-incident-actions.ts';
import type { User } from '../../src/shared/schemas/auth.ts';
import type { Incident, IncidentDetail } from '../../src/shared/schemas/incidents.ts';
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

const me: User = {
  id: 'usr_bob',
  username: 'bob',
  displayName: 'Bob Okafor',
  role: 'member',
  teamIds: ['team_ops'],
};

/** One incident as a card shows it, with the resolve action and the failure's dismiss. */
function Card() {
  const { view, pending, failure: refused, dismissFailure } = useIncidentView(incident);
  const failure = useFailureText(incident.id, refused, me);
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
        throw serverError('FORBIDDEN', 'Tokens without the write scope cannot change incidents');
      },
    });
    fireEvent.click(screen.getByText('Resolve'));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe(
      'Could not resolve: Tokens without the write scope cannot change incidents',
    );
    expect(card().dataset['status']).toBe('open');
    expect(card().dataset['pending']).toBe('false');

    fireEvent.click(screen.getByText('Dismiss'));
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
  });

  it('say who changed the incident meanwhile, by name, when refused as stale', async () => {
    // Carol opened it, then alice acknowledged and assigned it to someone since deleted, while
    // bob's resolve was on its way with version 1.
    const now: IncidentDetail = {
      ...incident,
      status: 'acknowledged',
      assigneeId: 'usr_gone',
      version: 3,
      timeline: [
        { at: incident.openedAt, actorId: 'usr_carol', action: 'opened', detail: 'opened by hand' },
        { at: incident.openedAt, actorId: 'usr_alice', action: 'acknowledged', detail: '' },
        { at: incident.openedAt, actorId: 'usr_alice', action: 'assigned', detail: 'to usr_gone' },
      ],
    };
    const people: Record<string, { username: string; displayName: string }> = {
      usr_alice: { username: 'alice', displayName: 'Alice Martin' },
      usr_carol: { username: 'carol', displayName: 'Carol Nguyen' },
    };
    const asked: string[] = [];
    renderWithClients(<Card />, {
      'incidents.resolve': () => {
        throw serverError('CONFLICT', "Incident 'inc_1' changed meanwhile (now version 3)");
      },
      'incidents.get': () => now,
      'users.person': (op) => {
        const { userId } = op.input as { userId: string };
        asked.push(userId);
        const person = people[userId];
        return person ? { userId, ...person } : null;
      },
    });
    fireEvent.click(screen.getByText('Resolve'));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toBe(
        'Could not resolve: Alice Martin acknowledged it and assigned it to Unknown user meanwhile',
      ),
    );
    expect(card().dataset['status']).toBe('open');
    // Only the people the message names were looked up, each once.
    expect(asked.sort()).toEqual(['usr_alice', 'usr_gone']);
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
