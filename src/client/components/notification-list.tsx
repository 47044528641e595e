import { useEffect, useRef, useState, type ReactNode } from 'react';
import { linkKind, type NotificationListItem } from '../../shared/schemas/notifications.ts';
import { RelativeTime } from './relative-time.tsx';

export interface NotificationListProps {
  items: readonly NotificationListItem[];
  /** True until the first page has arrived. */
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  onMarkRead: (id: string) => void;
  /** The actions beside an entry (snooze, archive, …); a group's entry acts for its group. */
  renderActions?: (item: NotificationListItem) => ReactNode;
  /** What an expanded group's entry shows under it: its notifications. */
  renderGroup?: (item: NotificationListItem & { group: { key: string } }) => ReactNode;
  emptyText?: string;
}

const SEVERITY_LABEL = { info: 'Info', warning: 'Warning', critical: 'Critical' } as const;

/** An entry standing for several notifications of one group. */
const isGroupEntry = (
  n: NotificationListItem,
): n is NotificationListItem & { group: { key: string; count: number; unreadCount: number } } =>
  n.group !== null && n.group !== undefined && n.group.count > 1;

export function NotificationList(props: NotificationListProps) {
  const { items, loading, error, hasMore, loadingMore, onLoadMore, onMarkRead } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());

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

  const toggle = (key: string) =>
    setExpanded((current) => {
      const next = new Set(current);
      if (!next.delete(key)) next.add(key);
      return next;
    });

  return (
    <div className="notification-list" ref={scroller}>
      {loading && <p className="muted pad">Loading…</p>}
      {error && (
        <p className="error-text pad" role="alert">
          {error}
        </p>
      )}
      {!loading && !error && items.length === 0 && (
        <p className="muted pad" data-testid="notification-empty">
          {props.emptyText ?? 'Nothing here yet.'}
        </p>
      )}
      <ul>
        {items.map((n) => {
          const group = isGroupEntry(n) ? n.group : null;
          const open = group !== null && expanded.has(group.key);
          const unread = group ? group.unreadCount > 0 : n.readAt === null;
          return (
            <li
              key={n.id}
              className={`notification notification--${n.severity}${unread ? ' notification--unread' : ''}${n.muted ? ' notification--muted' : ''}`}
              data-testid="notification-item"
              data-id={n.id}
              data-read={!unread}
              data-seen={n.seenAt !== null}
              data-group-key={group?.key}
              data-group-count={group?.count}
            >
              <div className="notification__row">
                <span className="notification__severity" title={SEVERITY_LABEL[n.severity]}>
                  {SEVERITY_LABEL[n.severity]}
                </span>
                <div className="notification__main">
                  <p className="notification__title">
                    <NotificationTitle title={n.title} link={n.link} />
                  </p>
                  {n.body && <p className="notification__body">{n.body}</p>}
                  <p className="notification__meta">
                    <RelativeTime iso={n.createdAt} />
                    {n.snoozedUntil !== null && (
                      <span data-testid="snoozed-until">
                        {' · Snoozed until '}
                        {new Date(n.snoozedUntil).toLocaleString([], {
                          dateStyle: 'medium',
                          timeStyle: 'short',
                        })}
                      </span>
                    )}
                    {n.muted && <span> · Muted</span>}
                    {n.quiet && <span title="Arrived during your quiet hours"> · Quiet</span>}
                  </p>
                  {group && (
                    <button
                      type="button"
                      className="link-button notification__group"
                      data-testid="group-toggle"
                      aria-expanded={open}
                      onClick={() => toggle(group.key)}
                    >
                      {open ? 'Hide' : 'Show'} {group.count} notifications
                      {group.unreadCount > 0 ? ` (${group.unreadCount} unread)` : ''}
                    </button>
                  )}
                </div>
                <div className="notification__actions">
                  {!group && n.readAt === null && (
                    <button
                      type="button"
                      className="icon-button"
                      data-testid="mark-read"
                      title="Mark read"
                      aria-label={`Mark "${n.title}" read`}
                      onClick={() => onMarkRead(n.id)}
                    >
                      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                        <path
                          d="M3 8.5l3 3 7-7"
                          fill="none"
                          stroke="currentColor"
                          strokeWidth="1.8"
                        />
                      </svg>
                    </button>
                  )}
                  {props.renderActions?.(n)}
                </div>
              </div>
              {open && group && props.renderGroup && (
                <div className="notification__members" data-testid="group-members">
                  {props.renderGroup({ ...n, group })}
                </div>
              )}
            </li>
          );
        })}
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
