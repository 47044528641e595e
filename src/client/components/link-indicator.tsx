/**
 * What a link to the server is doing, as the header shows it. `fallback`: the WebSocket cannot
 * be opened here, and what it carries goes over the other links.
 */
export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'fallback';

export interface LinkIndicatorProps {
  /** Short name of the link: `SSE`, `HTTP`. */
  label: string;
  state: LinkState;
  testId: string;
  /** Longer explanation, shown on hover. */
  detail?: string | undefined;
  /** Extra attribute for the state element (for instance the tab's part in stream sharing). */
  role?: string | undefined;
}

export function LinkIndicator({ label, state, testId, detail, role }: LinkIndicatorProps) {
  return (
    <span className={`link link--${state}`} title={detail}>
      <span className="link__dot" aria-hidden="true" />
      <span className="link__label">{label}</span>
      <span className="link__state" data-testid={testId} data-state={state} data-role={role}>
        {state}
      </span>
    </span>
  );
}
