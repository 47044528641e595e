import { useSyncExternalStore } from 'react';
import { LinkIndicator, type LinkState } from '../../components/link-indicator.tsx';
import { useStreamsState } from '../../transport/live-status.ts';
import { useOnline } from '../../lib/use-online.ts';
import { httpHealth, liveRole } from '../../trpc.ts';
import { WsLinkStatus } from '../chat/ws-link-status.tsx';

const ROLE_TEXT = {
  leader: 'this tab holds the streams for all tabs',
  follower: 'relayed from the tab that holds the streams',
  standalone: 'this tab holds its own streams',
} as const;

/**
 * One indicator per link to the server: SSE (the live streams open on this page, whichever
 * features opened them) and HTTP (queries, mutations).
 */
export function LinkStatus() {
  const online = useOnline();
  const role = useSyncExternalStore(liveRole.subscribe, liveRole.get);
  const health = useSyncExternalStore(httpHealth.subscribe, httpHealth.get);
  const streams = useStreamsState(online);
  const http: LinkState = !online ? 'offline' : health === 'ok' ? 'connected' : 'reconnecting';
  return (
    <div className="links" aria-label="Connection state">
      <LinkIndicator
        label="SSE"
        state={streams.state}
        testId="link-sse"
        detail={
          streams.problem ? `${ROLE_TEXT[role]}; last error: ${streams.problem}` : ROLE_TEXT[role]
        }
        role={role}
      />
      <WsLinkStatus />
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
