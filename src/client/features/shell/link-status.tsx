import { useSyncExternalStore } from 'react';
import { LinkIndicator, type LinkState } from '../../components/link-indicator.tsx';
import { useOnline } from '../../lib/use-online.ts';
import { useLinkStates } from '../../pulse-provider.tsx';
import { streamsState } from '../../transport/live-status.ts';
import type { LiveState } from '../../transport/live-stream.ts';
import { WsLinkStatus } from '../chat/ws-link-status.tsx';

const ROLE_TEXT = {
  leader: 'This tab holds the live stream for all tabs.',
  follower: 'Relayed from the tab that holds the live stream.',
  standalone: 'This tab holds its own live stream.',
} as const;

/** The stream's own states that say more than the subscriptions' (which only know "connecting"). */
const STREAM_SAYS: Partial<Record<LiveState, LinkState>> = {
  connecting: 'connecting',
  reconnecting: 'reconnecting',
  'catching-up': 'catching-up',
};

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/**
 * One indicator per link to the server: SSE (the browser's live stream, whichever features
 * opened subscriptions on it), WS (chat), and HTTP (queries, mutations). Each explains itself
 * in words, reachable by keyboard (see LinkIndicator).
 */
export function LinkStatus() {
  const online = useOnline();
  const { liveRole, http, live, streams: reports } = useLinkStates();
  const role = useSyncExternalStore(liveRole.subscribe, liveRole.get);
  const health = useSyncExternalStore(http.view.subscribe, http.view.get);
  const stream = useSyncExternalStore(live.subscribe, live.get);
  const all = useSyncExternalStore(reports.all.subscribe, reports.all.get);
  const started = useSyncExternalStore(reports.everStarted.subscribe, reports.everStarted.get);
  const subscriptions = streamsState(online, started, all);
  const sse: LinkState = !online ? 'offline' : (STREAM_SAYS[stream.state] ?? subscriptions.state);
  const sseDetail = [
    stream.state === 'idle' ? null : `${capitalized(stream.detail)}.`.replace(/\.\.$/, '.'),
    ROLE_TEXT[role],
    subscriptions.problem ? `Last error: ${subscriptions.problem}` : null,
  ]
    .filter((part) => part !== null)
    .join(' ');
  const httpState: LinkState = !online ? 'offline' : health.state === 'ok' ? 'connected' : 'down';
  return (
    <div className="links" aria-label="Connection state">
      <LinkIndicator label="SSE" state={sse} testId="link-sse" detail={sseDetail} role={role} />
      <WsLinkStatus />
      <LinkIndicator
        label="HTTP"
        state={httpState}
        testId="link-http"
        detail={
          online
            ? `${capitalized(health.detail)}.`
            : 'The browser reports no network; requests wait until it returns.'
        }
      />
    </div>
  );
}
