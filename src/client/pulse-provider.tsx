import { QueryClientProvider } from '@tanstack/react-query';
import { createContext, useContext, useState, type ReactNode } from 'react';
import { createPulseClients, type LinkStates, type PulseClients } from './pulse-clients.ts';
import type { WsTransport } from './transport/ws-transport.ts';
import { trpc } from './trpc.ts';

const LinksContext = createContext<Pick<PulseClients, 'linkStates' | 'wsTransport'> | null>(null);

/**
 * Provides the web app's clients: tRPC's and React Query's providers, and the link states and
 * WebSocket transport for `useLinkStates()` and `useWsTransport()`. Creates the clients once,
 * unless given some (the page's entry makes its one set; tests pass their own, one per test).
 * `clients` is read on mount only.
 */
export function PulseProvider({
  clients,
  children,
}: {
  clients?: PulseClients;
  children: ReactNode;
}) {
  // Read once: a page keeps its clients (and its cache) for its whole life.
  const [{ queryClient, trpcClient, linkStates, wsTransport }] = useState(
    () => clients ?? createPulseClients(),
  );
  const [links] = useState(() => ({ linkStates, wsTransport }));
  return (
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <LinksContext.Provider value={links}>{children}</LinksContext.Provider>
      </QueryClientProvider>
    </trpc.Provider>
  );
}

function useLinks() {
  const links = useContext(LinksContext);
  if (!links) throw new Error('Pulse hooks need a <PulseProvider> above them');
  return links;
}

/** The HTTP health, the tab's role in stream sharing, and the open streams' reports. */
export function useLinkStates(): LinkStates {
  return useLinks().linkStates;
}

/** The page's WebSocket transport (chat). */
export function useWsTransport(): WsTransport {
  return useLinks().wsTransport;
}
