import type { User } from '../../../shared/schemas/auth.ts';
import { LogoutButton } from '../auth/logout-button.tsx';
import { MarkAllReadButton } from '../notifications/mark-all-read-button.tsx';
import { NotificationBell } from '../notifications/notification-bell.tsx';
import { NotificationFeed } from '../notifications/notification-feed.tsx';
import { useLiveNotifications } from '../notifications/use-live-notifications.ts';
import { LinkStatus } from './link-status.tsx';

export function AppShell({ user }: { user: User }) {
  const live = useLiveNotifications();
  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <span className="brand__mark" aria-hidden="true" />
          Pulse
        </div>
        <LinkStatus sse={live.sse} sseDetail={live.detail} />
        <div className="topbar__end">
          <NotificationBell />
          <span className="user" data-testid="user-name" title={`${user.username} (${user.role})`}>
            {user.displayName}
          </span>
          <LogoutButton />
        </div>
      </header>
      <main className="content">
        <section className="card" data-testid="inbox" aria-labelledby="inbox-title">
          <header className="panel-header">
            <h1 id="inbox-title">Inbox</h1>
            <MarkAllReadButton />
          </header>
          <NotificationFeed emptyText="No notifications yet. New ones appear here as they arrive." />
        </section>
      </main>
    </div>
  );
}
