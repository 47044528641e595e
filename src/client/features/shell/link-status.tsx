import { useSyncExternalStore } from 'react';
import { LinkIndicator, type LinkState } from '../../components/link-indicator.tsx';
import { useOnline } from '../../lib/use-online.ts';
import { httpHealth, liveRole } from '../../trpc.ts';

/** One indicator per link to the server: SSE (the live streams) and HTTP (queries, mutations). */
export function LinkStatus({ sse, sseDetail }: { sse: LinkState; sseDetail: string }) {
  const online = useOnline();
  const role = useSyncExternalStore(liveRole.subscribe, liveRole.get);
  const health = useSyncExternalStore(httpHealth.subscribe, httpHealth.get);
  const http: LinkState = !online ? 'offline' : health === 'ok' ? 'connected' : 'reconnecting';
  return (
    <div className="links" aria-label="Connection state">
      <LinkIndicator label="SSE" state={sse} testId="link-sse" detail={sseDetail} role={role} />
      <LinkIndicator
        label="HTTP"
        state={http}
        testId="link-http"
        detail={
          health === 'ok'
            ? 'queries and mutations answer'
            : 'the last request did not reach the server'
        }
      />
    </div>
  );
}
