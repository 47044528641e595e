import { useState } from 'react';
import { useNewerServer } from './use-newer-server.ts';

/**
 * Offers a reload once the server runs a newer Pulse than this page: the API may have changed
 * under the page, and a reload beats failing in odd ways. The status region is always there, so
 * that screen readers announce the offer (politely) when it appears; dismissed, it stays away
 * until a yet newer version comes.
 */
export function UpdateBanner() {
  const newer = useNewerServer();
  const [dismissed, setDismissed] = useState<string | null>(null);
  return (
    <div role="status">
      {newer !== null && newer !== dismissed && (
        <div className="update-banner" data-testid="update-banner">
          <span>A new version of Pulse is available —</span>
          <button type="button" className="primary" onClick={() => location.reload()}>
            Reload
          </button>
          <button type="button" className="ghost" onClick={() => setDismissed(newer)}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}
