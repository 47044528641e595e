import { NotificationList } from '../../components/notification-list.tsx';
import { flattenPages } from './notification-cache.ts';
import { useNotificationList } from './use-notification-queries.ts';
import { useMarkRead } from './use-read-state.ts';
import './notifications.css';

/** The notifications list wired to its query and mark-read; the bell and the inbox both show it. */
export function NotificationFeed({ emptyText }: { emptyText?: string }) {
  const list = useNotificationList();
  const markRead = useMarkRead();
  const { fetchNextPage } = list;
  return (
    <>
      {markRead.error && (
        <p className="error-text pad" role="alert">
          Could not mark read: {markRead.error.message}
        </p>
      )}
      <NotificationList
        items={flattenPages(list.data)}
        loading={list.isPending}
        error={list.error ? list.error.message : null}
        hasMore={list.hasNextPage}
        loadingMore={list.isFetchingNextPage}
        onLoadMore={() => void fetchNextPage()}
        onMarkRead={(id) => markRead.mutate({ id })}
        emptyText={emptyText}
      />
    </>
  );
}
