import { useEffect, useRef, useState } from 'react';
import { DesktopNotificationsButton } from './desktop-notifications-button.tsx';
import { MarkAllReadButton } from './mark-all-read-button.tsx';
import { NotificationFeed } from './notification-feed.tsx';
import { PreferencesButton } from './preferences-dialog.tsx';
import { useUnseenCount } from './use-notification-queries.ts';
import './notifications.css';

export function NotificationBell() {
  // The badge counts what has not been seen (shown in an open inbox): seen is not read.
  const unseen = useUnseenCount();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const count = unseen.data ?? 0;

  // Close on a click elsewhere or Escape, as menus do.
  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (event.target instanceof Node && !root.current?.contains(event.target)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      // Not while a dialog of the panel is open: its Escape closes the dialog alone.
      if (event.key !== 'Escape' || document.querySelector('dialog[open]')) return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  return (
    <div
      className="bell"
      ref={root}
      // Focus moving on past the panel (Tab) closes it, as a click elsewhere does.
      onBlur={(event) => {
        const next = event.relatedTarget;
        if (!open || !(next instanceof Node) || root.current?.contains(next)) return;
        if (!document.querySelector('dialog[open]')) setOpen(false);
      }}
    >
      <button
        ref={button}
        type="button"
        className="bell__button"
        data-testid="bell"
        aria-expanded={open}
        aria-haspopup="true"
        aria-label={`Notifications, ${count} new`}
        onClick={() => setOpen((o) => !o)}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path
            d="M12 3a6 6 0 0 0-6 6v3.6L4.3 15.4A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.6L18 12.6V9a6 6 0 0 0-6-6zm-2.5 15a2.5 2.5 0 0 0 5 0"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.6"
            strokeLinejoin="round"
          />
        </svg>
        <span className="badge" data-testid="unread-badge" data-count={count} hidden={count === 0}>
          {count}
        </span>
      </button>
      {open && (
        <section
          className="bell__panel"
          data-testid="notification-panel"
          aria-label="Notifications"
          // A link in a notification opens its page in place: the panel has done its job.
          onClick={(event) => {
            if (event.target instanceof Element && event.target.closest('a')) setOpen(false);
          }}
        >
          <header className="panel-header">
            <h2>Notifications</h2>
            <MarkAllReadButton />
          </header>
          <NotificationFeed emptyText="You are all caught up." marksSeen />
          <footer className="panel-footer bell__footer">
            <a href="/" className="small">
              Open the inbox
            </a>
            <PreferencesButton />
            <DesktopNotificationsButton />
          </footer>
        </section>
      )}
    </div>
  );
}
