import { lazy, Suspense, useEffect } from 'react';
import type { User } from '../../../shared/schemas/auth.ts';
import { LiveAnnouncer } from '../../components/announcer.tsx';
import { ErrorBoundary } from '../../components/error-boundary.tsx';
import { startFocusKeeper } from '../../lib/focus-keeper.ts';
import { useLinkNavigation, usePath } from '../../lib/router.ts';
import { LogoutButton } from '../auth/logout-button.tsx';
import { ChatPage } from '../chat/chat-page.tsx';
import { ChatSession } from '../chat/chat-session.tsx';
import { DashboardPage } from '../dashboard/dashboard-page.tsx';
import { IncidentsSection } from '../incidents/incidents-section.tsx';
import { MarkAllReadButton, UnreadCount } from '../notifications/mark-all-read-button.tsx';
import { NotificationBell } from '../notifications/notification-bell.tsx';
import { NotificationFeed } from '../notifications/notification-feed.tsx';
import { PreferencesButton } from '../notifications/preferences-dialog.tsx';
import { useLiveNotifications } from '../notifications/use-live-notifications.ts';
import { HeaderMenu } from './header-menu.tsx';
import { LinkStatus } from './link-status.tsx';
import { OfflineBanner } from './offline-banner.tsx';
import { parseRoute, type Route } from './routes.ts';
import { UpdateBanner } from './update-banner.tsx';
import './shell.css';

// Loaded when first opened: the explorer and the contract it reads stay out of the main bundle.
const ExplorerPage = lazy(() =>
  import('../explorer/explorer-page.tsx').then((m) => ({ default: m.ExplorerPage })),
);

const NAV = [
  { href: '/', label: 'Inbox', active: (r: Route) => r.name === 'inbox' },
  { href: '/dashboard', label: 'Dashboard', active: (r: Route) => r.name === 'dashboard' },
  {
    href: '/incidents',
    label: 'Incidents',
    active: (r: Route) => r.name === 'incidents' || r.name === 'incident',
  },
  { href: '/chat', label: 'Chat', active: (r: Route) => r.name === 'chat' },
  { href: '/explorer', label: 'API', active: (r: Route) => r.name === 'explorer' },
] as const;

export function AppShell({ user }: { user: User }) {
  useLiveNotifications();
  useLinkNavigation();
  // Focus never falls to the page body when what held it goes (lib/focus-keeper.ts).
  useEffect(() => startFocusKeeper(), []);
  const route = parseRoute(usePath());
  return (
    <ChatSession userId={user.id}>
      <div className="shell">
        <header className="topbar">
          <div className="brand">
            <span className="brand__mark" aria-hidden="true" />
            Pulse
          </div>
          <HeaderMenu>
            <nav className="nav" aria-label="Pages">
              {NAV.map((item) => (
                <a
                  key={item.href}
                  href={item.href}
                  className="nav__link"
                  data-testid={`nav-${item.label.toLowerCase()}`}
                  aria-current={item.active(route) ? 'page' : undefined}
                >
                  {item.label}
                </a>
              ))}
            </nav>
            <div className="account">
              <span
                className="user"
                data-testid="user-name"
                title={`${user.username} (${user.role})`}
              >
                {user.displayName}
              </span>
              <LogoutButton />
            </div>
          </HeaderMenu>
          <LinkStatus />
          <NotificationBell />
        </header>
        <LiveAnnouncer />
        <OfflineBanner />
        <UpdateBanner />
        <Page route={route} user={user} />
      </div>
    </ChatSession>
  );
}

function Page({ route, user }: { route: Route; user: User }) {
  switch (route.name) {
    case 'inbox':
      return (
        <main className="content">
          <section className="card inbox-card" data-testid="inbox" aria-labelledby="inbox-title">
            <header className="panel-header inbox__header">
              <h1 id="inbox-title">Inbox</h1>
              <UnreadCount />
              <span className="inbox__header-end">
                <PreferencesButton />
                <MarkAllReadButton />
              </span>
            </header>
            <NotificationFeed
              emptyText="No notifications yet. New ones appear here as they arrive."
              filters
              marksSeen
            />
          </section>
        </main>
      );
    case 'dashboard':
      return (
        <main className="content content--wide">
          <DashboardPage />
        </main>
      );
    case 'incidents':
    case 'incident':
      // One element for both, so the live incidents stream stays open between them.
      return (
        <main className="content content--wide">
          <IncidentsSection user={user} incidentId={route.name === 'incident' ? route.id : null} />
        </main>
      );
    case 'chat':
      return (
        <main className="content content--wide">
          <ChatPage user={user} roomId={route.roomId} />
        </main>
      );
    case 'explorer':
      return (
        <main className="content content--wide">
          <ErrorBoundary
            fallback={(error) => (
              <p className="card pad error-text" role="alert">
                The API explorer did not load ({error instanceof Error ? error.message : 'error'}).
                Reload the page to try again.
              </p>
            )}
          >
            <Suspense fallback={<p className="muted">Loading the API explorer…</p>}>
              <ExplorerPage user={user} procedure={route.procedure} />
            </Suspense>
          </ErrorBoundary>
        </main>
      );
    case 'not-found':
      return (
        <main className="content">
          <section className="card pad" data-testid="not-found">
            <h1>Nothing at {route.path}</h1>
            <p className="muted">
              <a href="/">Back to the inbox</a>
            </p>
          </section>
        </main>
      );
  }
}
