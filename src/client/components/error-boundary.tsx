import { Component, type ReactNode } from 'react';

/**
 * Shows `fallback` instead of its children when they throw while rendering: a page loaded on
 * demand whose chunk cannot be fetched (the server was updated since this page loaded, or is
 * down) fails here, not the whole app.
 */
export class ErrorBoundary extends Component<
  { fallback: (error: unknown) => ReactNode; children: ReactNode },
  { error: unknown }
> {
  override state = { error: null as unknown };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override render() {
    return this.state.error === null ? this.props.children : this.props.fallback(this.state.error);
  }
}
