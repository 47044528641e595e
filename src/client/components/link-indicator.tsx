import { useId, useState } from 'react';

/**
 * What a link to the server is doing, as the header shows it. `fallback`: the WebSocket cannot
 * be opened here, and what it carries goes over the other links. `catching-up`: back after a
 * pause (a frozen tab, the network gone for a while), replaying what was missed. `down`: the
 * server does not answer.
 */
export type LinkState =
  'connecting' | 'connected' | 'catching-up' | 'reconnecting' | 'offline' | 'fallback' | 'down';

const STATE_TEXT: Record<LinkState, string> = {
  connecting: 'connecting',
  connected: 'connected',
  'catching-up': 'catching up',
  reconnecting: 'reconnecting',
  offline: 'offline',
  fallback: 'fallback',
  down: 'down',
};

export interface LinkIndicatorProps {
  /** Short name of the link: `SSE`, `HTTP`. */
  label: string;
  state: LinkState;
  testId: string;
  /** Longer explanation: shown on hover, on keyboard focus, and on click or Enter. */
  detail?: string | undefined;
  /** Extra attribute for the state element (for instance the tab's part in stream sharing). */
  role?: string | undefined;
}

/**
 * One link's state, as a button whose explanation is its accessible description: a keyboard
 * user reaches it with Tab (the explanation shows on focus), and Enter or a click pins it open
 * (Escape closes it), so it is never hover-only.
 */
export function LinkIndicator({ label, state, testId, detail, role }: LinkIndicatorProps) {
  const tipId = useId();
  const [pinned, setPinned] = useState(false);
  return (
    <span className={`link link--${state}`}>
      <button
        type="button"
        className="link__button"
        aria-describedby={detail ? tipId : undefined}
        aria-expanded={detail ? pinned : undefined}
        data-testid={`${testId}-button`}
        onClick={() => setPinned((open) => !open)}
        onBlur={() => setPinned(false)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') setPinned(false);
        }}
      >
        <span className="link__dot" aria-hidden="true" />
        <span className="link__label">{label}</span>
        <span className="link__state" data-testid={testId} data-state={state} data-role={role}>
          {STATE_TEXT[state]}
        </span>
      </button>
      {detail ? (
        <span
          id={tipId}
          role="tooltip"
          className={pinned ? 'link__tip link__tip--pinned' : 'link__tip'}
          data-testid={`${testId}-detail`}
        >
          {detail}
        </span>
      ) : null}
    </span>
  );
}
