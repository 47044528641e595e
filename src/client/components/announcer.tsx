import { useSyncExternalStore } from 'react';
import { createExternalStore } from '../lib/external-store.ts';

/**
 * What screen readers are told of things that arrive on their own (a notification, a chat
 * message from someone else): one polite live region for the page, in the app shell. The last
 * message replaces the one before; a repeat is told again (its text is a new node each time).
 */
const said = createExternalStore({ text: '', turn: false });

/** Tells screen readers `text`, politely (after what they are reading). */
export function announce(text: string): void {
  const { turn } = said.get();
  said.set({ text, turn: !turn });
}

export function LiveAnnouncer() {
  const { text, turn } = useSyncExternalStore(said.subscribe, said.get);
  return (
    <div className="visually-hidden" role="status" aria-live="polite" data-testid="announcer">
      <span key={String(turn)}>{text}</span>
    </div>
  );
}
