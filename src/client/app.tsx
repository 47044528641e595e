import { LoginPage } from './features/auth/login-page.tsx';
import { AppShell } from './features/shell/app-shell.tsx';
import { errorCode } from './lib/errors.ts';
import { trpc } from './trpc.ts';

/** Who we are decides what shows: the sign-in page or the app. */
export function App() {
  const me = trpc.auth.me.useQuery(undefined, { staleTime: 5 * 60_000 });
  // Checked before the data: a refetch that fails keeps the old data, and a session that
  // ended must not leave the app on screen.
  if (errorCode(me.error) === 'UNAUTHORIZED') return <LoginPage />;
  if (me.data) return <AppShell user={me.data} />;
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
