// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { UpdateBanner } from '../../src/client/features/shell/update-banner.tsx';
import { trpc } from '../../src/client/trpc.ts';
import { API_VERSION } from '../../src/shared/version.ts';
import { renderWithClients } from '../support/react.tsx';
import { NEXT_MINOR, NEXT_PATCH, PREVIOUS } from '../support/versions.ts';

/** The version the page last heard, rendered with the banner from the same query. */
function Heard() {
  return <p data-testid="heard">{trpc.system.health.useQuery().data?.version}</p>;
}

/** Renders the banner against a server whose reported version the test sets. */
function renderAgainst(initial: string) {
  const server = { version: initial };
  renderWithClients(
    <>
      <UpdateBanner />
      <Heard />
    </>,
    { 'system.health': () => ({ status: 'ok', version: server.version, uptimeS: 1 }) },
  );
  return server;
}

/** The page is shown again: React Query asks again. */
async function showPageAndHear(version: string) {
  window.dispatchEvent(new Event('visibilitychange'));
  await waitFor(() => expect(screen.getByTestId('heard').textContent).toBe(version));
}

afterEach(cleanup);

describe('the new-version banner', () => {
  it('stays away while the server runs this version or an older one', async () => {
    const server = renderAgainst(API_VERSION);
    await waitFor(() => expect(screen.getByTestId('heard').textContent).toBe(API_VERSION));
    expect(screen.getByRole('status').textContent).toBe('');
    server.version = PREVIOUS;
    await showPageAndHear(PREVIOUS);
    expect(screen.getByRole('status').textContent).toBe('');
  });

  it('offers a reload when the page is shown and the server is newer, until dismissed', async () => {
    const server = renderAgainst(API_VERSION);
    await waitFor(() => expect(screen.getByTestId('heard').textContent).toBe(API_VERSION));

    server.version = NEXT_PATCH;
    await showPageAndHear(NEXT_PATCH);
    const status = screen.getByRole('status');
    expect(status.textContent).toContain('A new version of Pulse is available');
    expect(screen.getByRole('button', { name: 'Reload' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(status.textContent).toBe('');
    await showPageAndHear(NEXT_PATCH);
    expect(status.textContent).toBe('');

    // A yet newer one is offered again.
    server.version = NEXT_MINOR;
    await showPageAndHear(NEXT_MINOR);
    expect(status.textContent).toContain('A new version of Pulse is available');
  });
});
