import { useSyncExternalStore } from 'react';
import { LinkIndicator, type LinkState } from '../../components/link-indicator.tsx';
import { useOnline } from '../../lib/use-online.ts';
import { useLinkStates } from '../../pulse-provider.tsx';
import { streamsState } from '../../transport/live-status.ts';
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
  const { liveRole, httpHealth, streams: reports } = useLinkStates();
  const role = useSyncExternalStore(liveRole.subscribe, liveRole.get);
  const health = useSyncExternalStore(httpHealth.subscribe, httpHealth.get);
  const all = useSyncExternalStore(reports.all.subscribe, reports.all.get);
  const started = useSyncExternalStore(reports.everStarted.subscribe, reports.everStarted.get);
  const streams = streamsState(online, started, all);
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
