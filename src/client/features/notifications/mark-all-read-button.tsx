import { useMarkAllRead } from './use-read-state.ts';
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
      title={markAll.error ? `Last attempt failed: ${markAll.error.message}` : undefined}
      onClick={() => markAll.mutate()}
    >
      Mark all read
    </button>
  );
}
