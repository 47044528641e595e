import { useMemo } from 'react';
import type { Person } from '../../../shared/schemas/chat.ts';
import { trpc } from '../../trpc.ts';

/**
 * People by name, one way for the whole app: each user id is its own `users.person` query, so a
 * name fetched once serves every page, the queries of one render (a chat page's authors, a
 * board's assignees) leave in one batched request, and whatever brings people along (presence,
 * typing, the caller) fills the cache so that their names need no request at all.
 */

/** Names rarely change: a name stays fresh this long. */
export const PERSON_STALE_TIME = 10 * 60_000;
/** What an id that is no user shows (a user removed from the database, or never there). */
export const UNKNOWN_USER = 'Unknown user';
/** What a name shows while it is on its way. */
export const PENDING_NAME = '…';

type Utils = ReturnType<typeof trpc.useUtils>;

/** Puts people a stream or list brought along into the cache; only changed ones are written. */
export function rememberPeople(utils: Utils, people: readonly Person[]): void {
  for (const person of people) {
    const input = { userId: person.userId };
    const known = utils.users.person.getData(input);
    if (known?.username === person.username && known.displayName === person.displayName) continue;
    utils.users.person.setData(input, {
      userId: person.userId,
      username: person.username,
      displayName: person.displayName,
    });
  }
}

/** A display name by user id; see `useNames`. */
export type NameOf = (userId: string) => string;

/** What a looked-up person shows as: the name, "Unknown user", or a placeholder meanwhile. */
export function nameOf(person: Person | null | undefined): string {
  if (person === undefined) return PENDING_NAME;
  return person === null ? UNKNOWN_USER : person.displayName;
}

/**
 * Display names of `userIds` (nulls are skipped): those not cached yet are fetched, together.
 * The function answers any id, reading the cache for one not asked for here.
 */
export function useNames(userIds: readonly (string | null | undefined)[]): NameOf {
  const utils = trpc.useUtils();
  // Keyed by content, so that a new array of the same people asks for nothing new.
  const key = JSON.stringify([...new Set(userIds.filter((id) => typeof id === 'string'))].sort());
  const ids = useMemo(() => JSON.parse(key) as string[], [key]);
  const me = trpc.auth.me.useQuery(undefined, { enabled: false }).data;
  const results = trpc.useQueries((t) =>
    ids.map((userId) =>
      t.users.person(
        { userId },
        {
          staleTime: PERSON_STALE_TIME,
          // The caller's own name is known from sign-in.
          ...(me?.id === userId
            ? {
                initialData: {
                  userId: me.id,
                  username: me.username,
                  displayName: me.displayName,
                },
              }
            : {}),
        },
      ),
    ),
  );
  const byId = new Map(ids.map((id, i) => [id, results[i]?.data]));
  return (userId) =>
    nameOf(byId.has(userId) ? byId.get(userId) : utils.users.person.getData({ userId }));
}

/** One person's display name (see `useNames`). */
export function useName(userId: string | null): string | null {
  const name = useNames([userId]);
  return userId === null ? null : name(userId);
}
