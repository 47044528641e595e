import { useOnline } from '../../lib/use-online.ts';

/** Under the top bar while the browser has no network: what still works, and what waits. */
export function OfflineBanner() {
  const online = useOnline();
  if (online) return null;
  return (
    <div className="offline-banner" role="status" data-testid="offline-banner">
      You are offline: this shows what the page last saw. Messages you send wait in the outbox and
      go as soon as the network is back.
    </div>
  );
}
