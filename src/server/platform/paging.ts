import { TRPCError } from '@trpc/server';
import { LIST_PAGE_DEFAULT } from '../../shared/limits.ts';
import type { PageInput } from '../../shared/schemas/common.ts';

/** The page a list procedure was asked for; its input is optional, so no input is the first page. */
export function pageOf(input: Partial<PageInput> | undefined): {
  cursor: string | null;
  limit: number;
} {
  return { cursor: input?.cursor ?? null, limit: input?.limit ?? LIST_PAGE_DEFAULT };
}

/** A cursor that is no item of the list as the caller sees it (unknown, or someone else's). */
export function unknownCursor(cursor: string | null): TRPCError {
  return new TRPCError({
    code: 'BAD_REQUEST',
    message: `Unknown cursor '${cursor}': pass the id of the last item of the previous page`,
  });
}

/** A page read by a store, which answers `null` for an unknown or foreign cursor. */
export async function pageOrRefuse<T>(
  cursor: string | null,
  page: Promise<T[] | null>,
): Promise<T[]> {
  const items = await page;
  if (items === null) throw unknownCursor(cursor);
  return items;
}
