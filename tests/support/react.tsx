import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { createPulseClients, type PulseClients } from '../../src/client/pulse-clients.ts';
import { PulseProvider } from '../../src/client/pulse-provider.tsx';
import { fakeLink, type FakeHandler } from './fake-link.ts';

/**
 * Renders `ui` under its own `<PulseProvider>`: a fresh QueryClient and a tRPC client whose
 * calls `handlers` answer (see fake-link.ts). TanStack Query's `renderWithClient`, for Pulse.
 */
export function renderWithClients(ui: ReactNode, handlers: Record<string, FakeHandler>) {
  const clients: PulseClients = createPulseClients({ links: [fakeLink(handlers)] });
  const view = render(<PulseProvider clients={clients}>{ui}</PulseProvider>);
  return { ...view, clients };
}
