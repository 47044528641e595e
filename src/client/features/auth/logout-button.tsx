import { trpc } from '../../trpc.ts';
import { forgetUser } from './remembered-user.ts';

export function LogoutButton() {
  const utils = trpc.useUtils();
  const logout = trpc.auth.logout.useMutation({
    // Asking who we are again answers UNAUTHORIZED, which shows the sign-in page.
    onSettled: () => {
      forgetUser();
      void utils.auth.me.reset();
    },
  });
  return (
    <button
      type="button"
      className="ghost"
      data-testid="logout"
      disabled={logout.isPending}
      onClick={() => logout.mutate()}
    >
      Sign out
    </button>
  );
}
