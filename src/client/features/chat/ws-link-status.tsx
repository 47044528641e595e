import { LinkIndicator } from '../../components/link-indicator.tsx';
import { useWsLink } from './use-chat-room.ts';
import './chat.css';

/** The header's indicator for the WebSocket link (chat), next to SSE and HTTP. */
export function WsLinkStatus() {
  const view = useWsLink();
  return <LinkIndicator label="WS" state={view.state} testId="link-ws" detail={view.detail} />;
}
