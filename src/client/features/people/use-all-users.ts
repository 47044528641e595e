import { useEffect, useMemo } from 'react';
import { LIST_PAGE_MAX } from '../../../shared/limits.ts';
import type { User } from '../../../shared/schemas/auth.ts';
import { trpc } from '../../trpc.ts';

const USERS_INPUT = { limit: LIST_PAGE_MAX };

/**
 * Every user, for names (`users.list` is for admins, so only they enable it): read page after
 * page until a short one. What has come so far is there at once; the rest follows.
 */
export function useAllUsers(enabled: boolean): User[] {
  const users = trpc.users.list.useInfiniteQuery(USERS_INPUT, {
    enabled,
    getNextPageParam: (last) => (last.length < USERS_INPUT.limit ? undefined : last.at(-1)?.id),
    staleTime: 60_000,
  });
  const { hasNextPage, isFetchingNextPage, isError, fetchNextPage, data } = users;
  useEffect(() => {
    // Not after a failure: the query's own retries are done, and this would loop.
    if (hasNextPage && !isFetchingNextPage && !isError) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, isError, fetchNextPage]);
  return useMemo(() => data?.pages.flat() ?? [], [data]);
}
