import { useEffect } from 'react';
import { CurrentUserProvider } from './features/auth/current-user.tsx';
import { LoginPage } from './features/auth/login-page.tsx';
import { forgetUser, rememberedUser, rememberUser } from './features/auth/remembered-user.ts';
import { AppShell } from './features/shell/app-shell.tsx';
import { errorCode } from './lib/errors.ts';
import { useOnline } from './lib/use-online.ts';
import { trpc } from './trpc.ts';

/**
 * Who we are decides what shows: the sign-in page or the app. Offline, before the server could
 * answer, the app opens as whoever was last signed in on this browser (it says it is offline).
 */
export function App() {
  const me = trpc.auth.me.useQuery(undefined, { staleTime: 5 * 60_000 });
  const online = useOnline();
  const ended = errorCode(me.error) === 'UNAUTHORIZED';
  useEffect(() => {
    if (me.data) rememberUser(me.data);
    else if (ended) forgetUser();
  }, [me.data, ended]);
  // Checked before the data: a refetch that fails keeps the old data, and a session that
  // ended must not leave the app on screen.
  if (ended) return <LoginPage />;
  const user = me.data ?? (online ? null : rememberedUser());
  if (user) {
    return (
      <CurrentUserProvider user={user}>
        <AppShell user={user} />
      </CurrentUserProvider>
    );
  }
  if (!online) {
    return (
      <main className="splash">
        <p role="status">You are offline. Pulse opens as soon as the network is back.</p>
      </main>
    );
  }
  if (me.isPending) return <p className="splash muted">Loading…</p>;
  return (
    <main className="splash">
      <p className="error-text" role="alert">
        Cannot reach Pulse: {me.error?.message}
      </p>
      <button type="button" className="primary" onClick={() => void me.refetch()}>
        Try again
      </button>
    </main>
  );
}
