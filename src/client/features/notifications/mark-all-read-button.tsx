import { useMarkAllRead } from './use-triage.ts';
import { useUnreadCount } from './use-notification-queries.ts';

export function MarkAllReadButton() {
  const unread = useUnreadCount();
  const markAll = useMarkAllRead();
  return (
    <button
      type="button"
      className="link-button"
      data-testid="mark-all-read"
      disabled={!unread.data}
      title={markAll.failure ?? undefined}
      onClick={markAll.mutate}
    >
      Mark all read
    </button>
  );
}

/** How many notifications are unread (the badge counts unseen ones: seen is not read). */
export function UnreadCount() {
  const count = useUnreadCount().data;
  if (count === undefined) return null;
  return (
    <span className="muted small unread-count">
      <span data-testid="unread-count">{count}</span> unread
    </span>
  );
}
