import { userSchema, type User } from '../../../shared/schemas/auth.ts';

/**
 * Who was signed in on this browser, kept in localStorage so that the app opens offline (its
 * shell comes from the service worker) as that person, says it is offline, and keeps chat
 * messages in the outbox until the network is back. It is the user's own profile, written on
 * every answer of `auth.me` and forgotten on sign-out or when the server says the session ended;
 * it never signs anyone in: every request still carries the session cookie.
 */
const KEY = 'pulse.user';

export function rememberUser(user: User): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(user));
  } catch {
    // Full or forbidden: the app then needs the network to open.
  }
}

export function rememberedUser(): User | null {
  try {
    const parsed = userSchema.safeParse(JSON.parse(localStorage.getItem(KEY) ?? 'null'));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function forgetUser(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // Nothing was kept.
  }
}
