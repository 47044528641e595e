import { LIST_PAGE_MAX } from '../shared/limits.ts';

/**
 * Every item of a paged list (`incidents.list`, `chat.rooms`, `alerts.listRules`,
 * `auth.listTokens`, `users.list`): asks page after page, each with the last id of the one
 * before as its cursor, until a page comes back shorter than `limit`.
 */
export async function allPages<T extends { id: string }>(
  fetchPage: (page: { cursor: string | null; limit: number }) => Promise<T[]>,
  limit: number = LIST_PAGE_MAX,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await fetchPage({ cursor, limit });
    items.push(...page);
    const last = page.at(-1);
    if (page.length < limit || !last) return items;
    cursor = last.id;
  }
}
