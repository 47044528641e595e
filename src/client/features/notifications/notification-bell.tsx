import { useEffect, useRef, useState } from 'react';
import { DesktopNotificationsButton } from './desktop-notifications-button.tsx';
import { MarkAllReadButton } from './mark-all-read-button.tsx';
import { NotificationFeed } from './notification-feed.tsx';
import { useUnreadCount } from './use-notification-queries.ts';
import './notifications.css';

export function NotificationBell() {
  const unread = useUnreadCount();
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const count = unread.data ?? 0;

  // Close on a click elsewhere or Escape, as menus do.
  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (event.target instanceof Node && !root.current?.contains(event.target)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setOpen(false);
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  return (
    <div className="bell" ref={root}>
      <button
        type="button"
        className="bell__button"
        data-testid="bell"
        aria-expanded={open}
        aria-haspopup="true"
        aria-label={`Notifications, ${count} unread`}
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
          <NotificationFeed emptyText="You are all caught up." />
          <footer className="panel-footer">
            <DesktopNotificationsButton />
          </footer>
        </section>
      )}
    </div>
  );
}
