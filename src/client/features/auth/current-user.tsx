import { createContext, useContext, type ReactNode } from 'react';
import type { User } from '../../../shared/schemas/auth.ts';

const CurrentUser = createContext<User | null>(null);

/**
 * Who the app is open as: the answer of `auth.me`, or offline the person last signed in on this
 * browser (see remembered-user.ts). Set once by the app, above every page.
 */
export function CurrentUserProvider({ user, children }: { user: User; children: ReactNode }) {
  return <CurrentUser.Provider value={user}>{children}</CurrentUser.Provider>;
}

/** The signed-in user; null outside the signed-in app. */
export function useCurrentUser(): User | null {
  return useContext(CurrentUser);
}
