import { useEffect, useRef } from 'react';
import { linkKind, type Notification } from '../../shared/schemas/notifications.ts';
import { RelativeTime } from './relative-time.tsx';

export interface NotificationListProps {
  items: readonly Notification[];
  /** True until the first page has arrived. */
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  onMarkRead: (id: string) => void;
  emptyText?: string;
}

const SEVERITY_LABEL = { info: 'Info', warning: 'Warning', critical: 'Critical' } as const;

export function NotificationList(props: NotificationListProps) {
  const { items, loading, error, hasMore, loadingMore, onLoadMore, onMarkRead } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);

  // Infinite scroll: the next page loads when the end of the list scrolls into view.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || !hasMore || loadingMore) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) onLoadMore();
      },
      { root: scroller.current, rootMargin: '120px' },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasMore, loadingMore, onLoadMore]);

  return (
    <div className="notification-list" ref={scroller}>
      {loading && <p className="muted pad">Loading…</p>}
      {error && (
        <p className="error-text pad" role="alert">
          {error}
        </p>
      )}
      {!loading && !error && items.length === 0 && (
        <p className="muted pad">{props.emptyText ?? 'Nothing here yet.'}</p>
      )}
      <ul>
        {items.map((n) => (
          <li
            key={n.id}
            className={`notification notification--${n.severity}${n.readAt === null ? ' notification--unread' : ''}`}
            data-testid="notification-item"
            data-id={n.id}
            data-read={n.readAt !== null}
          >
            <span className="notification__severity" title={SEVERITY_LABEL[n.severity]}>
              {SEVERITY_LABEL[n.severity]}
            </span>
            <div className="notification__main">
              <p className="notification__title">
                <NotificationTitle title={n.title} link={n.link} />
              </p>
              {n.body && <p className="notification__body">{n.body}</p>}
              <RelativeTime iso={n.createdAt} />
            </div>
            {n.readAt === null && (
              <button
                type="button"
                className="icon-button"
                data-testid="mark-read"
                title="Mark read"
                aria-label={`Mark "${n.title}" read`}
                onClick={() => onMarkRead(n.id)}
              >
                <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                  <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="1.8" />
                </svg>
              </button>
            )}
          </li>
        ))}
      </ul>
      {hasMore && (
        <div ref={sentinel} className="notification-list__more">
          <button type="button" className="link-button" onClick={onLoadMore} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load older'}
          </button>
        </div>
      )}
    </div>
  );
}

/**
 * A path on this site navigates inside the app (the app shell handles same-origin links). A
 * page elsewhere opens in a new tab that cannot reach back into this one, marked as external.
 * Anything else, such as a link stored before links were checked, shows as plain text.
 */
function NotificationTitle({ title, link }: { title: string; link: string | null }) {
  const kind = link === null ? null : linkKind(link);
  if (link === null || kind === null) return <>{title}</>;
  if (kind === 'internal') return <a href={link}>{title}</a>;
  return (
    <a href={link} target="_blank" rel="noopener noreferrer" data-external="true">
      {title}{' '}
      <span className="external-mark" role="img" aria-label="opens external site">
        ↗
      </span>
    </a>
  );
}
