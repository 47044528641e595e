import { useEffect, useRef, useState, type ReactNode } from 'react';
import { NOTIFICATION_PAGE_DEFAULT, SNOOZE_MAX_DAYS } from '../../../shared/limits.ts';
import type { Severity } from '../../../shared/schemas/common.ts';
import type {
  ListNotificationsInput,
  NotificationListItem,
} from '../../../shared/schemas/notifications.ts';
import { NotificationList } from '../../components/notification-list.tsx';
import { useDebounced } from '../../lib/use-debounced.ts';
import { trpc } from '../../trpc.ts';
import { flattenPages, NOTIFICATION_LIST_INPUT } from './notification-cache.ts';
import { SnoozeMenu } from './snooze-menu.tsx';
import { useNotificationList, useUnseenCount } from './use-notification-queries.ts';
import { useMarkSeen, useTriage } from './use-triage.ts';
import './notifications.css';

export type InboxView = 'inbox' | 'snoozed' | 'archived';

export interface InboxFilters {
  view: InboxView;
  unreadOnly: boolean;
  severity: Severity[];
  teamId: string | null;
  grouped: boolean;
  search: string;
}

export const DEFAULT_FILTERS: InboxFilters = {
  view: 'inbox',
  unreadOnly: false,
  severity: [],
  teamId: null,
  grouped: true,
  search: '',
};

/** How long the search box waits for typing to pause before it asks the server. */
export const SEARCH_DEBOUNCE_MS = 300;

/**
 * The list input for `filters`, naming only what is set: the default is exactly
 * NOTIFICATION_LIST_INPUT, so the bell and the inbox page share one cached list.
 */
export function listInput(filters: InboxFilters, search: string): ListNotificationsInput {
  const text = search.trim();
  return {
    ...NOTIFICATION_LIST_INPUT,
    ...(filters.grouped ? {} : { grouped: false }),
    ...(filters.view === 'archived' ? { archived: true } : {}),
    ...(filters.view === 'snoozed' ? { snoozed: true } : {}),
    ...(filters.unreadOnly ? { unreadOnly: true } : {}),
    ...(filters.severity.length > 0 ? { severity: filters.severity } : {}),
    ...(filters.teamId !== null ? { teamId: filters.teamId } : {}),
    ...(text !== '' ? { search: text } : {}),
  };
}

const isDefault = (input: ListNotificationsInput) =>
  JSON.stringify(input) === JSON.stringify(NOTIFICATION_LIST_INPUT);

export interface NotificationFeedProps {
  emptyText?: string;
  /** The filter bar (the inbox page); the bell shows the inbox as it is. */
  filters?: boolean;
  /**
   * The list is what an open inbox shows: while it is on screen in a visible tab, what it shows
   * of the inbox is marked seen.
   */
  marksSeen?: boolean;
}

/** The notifications list wired to its queries and triage actions; the bell and the inbox show it. */
export function NotificationFeed({
  emptyText,
  filters: withFilters,
  marksSeen,
}: NotificationFeedProps) {
  const [filters, setFilters] = useState<InboxFilters>(DEFAULT_FILTERS);
  const search = useDebounced(filters.search, SEARCH_DEBOUNCE_MS);
  const input = listInput(filters, search);
  const list = useNotificationList(input);
  const triage = useTriage();
  const items = flattenPages(list.data);
  useSeenWhenShown(marksSeen === true && isDefault(input) ? items : null);
  const { fetchNextPage } = list;
  const view = filters.view;

  const actions = (n: NotificationListItem) => {
    const group = n.group && n.group.count > 1 ? n.group.key : null;
    const ids = [n.id];
    const label = group ? `${n.group?.count ?? ''} “${n.title}” notifications` : `“${n.title}”`;
    switch (view) {
      case 'inbox':
        return (
          <>
            <SnoozeMenu
              what={n.title}
              maxDays={SNOOZE_MAX_DAYS}
              onSnooze={(until) =>
                group ? triage.group.snooze(group, until) : triage.snooze(ids, until)
              }
            />
            <button
              type="button"
              className="link-button"
              data-testid="archive"
              aria-label={`Archive ${label}`}
              onClick={() => (group ? triage.group.archive(group) : triage.archive(ids))}
            >
              Archive
            </button>
          </>
        );
      case 'snoozed':
        return (
          <button
            type="button"
            className="link-button"
            data-testid="unsnooze"
            aria-label={`Unsnooze ${label}`}
            onClick={() => (group ? triage.group.unsnooze(group) : triage.unsnooze(ids))}
          >
            Unsnooze
          </button>
        );
      case 'archived':
        return (
          <button
            type="button"
            className="link-button"
            data-testid="unarchive"
            aria-label={`Move ${label} back to the inbox`}
            onClick={() => (group ? triage.group.unarchive(group) : triage.unarchive(ids))}
          >
            Move to inbox
          </button>
        );
    }
  };

  return (
    <>
      {withFilters && <FilterBar filters={filters} onChange={setFilters} />}
      {triage.failure && (
        <p className="error-text pad triage-failure" role="alert" data-testid="triage-failure">
          {triage.failure}{' '}
          <button type="button" className="link-button" onClick={triage.dismissFailure}>
            Dismiss
          </button>
        </p>
      )}
      <NotificationList
        items={items}
        loading={list.isPending}
        error={list.error ? list.error.message : null}
        hasMore={list.hasNextPage}
        loadingMore={list.isFetchingNextPage}
        onLoadMore={() => void fetchNextPage()}
        onMarkRead={triage.markRead}
        renderActions={actions}
        renderGroup={(entry) => (
          <GroupMembers
            input={{ ...input, grouped: false, groupKey: entry.group.key }}
            render={actions}
            onMarkRead={triage.markRead}
          />
        )}
        emptyText={
          view === 'archived'
            ? 'Nothing archived.'
            : view === 'snoozed'
              ? 'Nothing snoozed.'
              : isDefault(input)
                ? emptyText
                : 'No notifications match.'
        }
      />
    </>
  );
}

/** An expanded group: its notifications, each with its own actions. */
function GroupMembers(props: {
  input: ListNotificationsInput;
  render: (n: NotificationListItem) => ReactNode;
  onMarkRead: (id: string) => void;
}) {
  const list = useNotificationList({ ...props.input, limit: NOTIFICATION_PAGE_DEFAULT });
  const { fetchNextPage } = list;
  return (
    <NotificationList
      items={flattenPages(list.data)}
      loading={list.isPending}
      error={list.error ? list.error.message : null}
      hasMore={list.hasNextPage}
      loadingMore={list.isFetchingNextPage}
      onLoadMore={() => void fetchNextPage()}
      onMarkRead={props.onMarkRead}
      renderActions={props.render}
    />
  );
}

/**
 * Marks what an open inbox shows seen (its newest entry, and with it everything below), while
 * the tab is visible: when it opens, when something new shows, and when the tab is shown again.
 */
function useSeenWhenShown(items: readonly NotificationListItem[] | null) {
  const markSeen = useMarkSeen();
  const unseen = useUnseenCount().data ?? 0;
  const newest = items?.[0];
  const marked = useRef<string | null>(null);
  const wanted =
    newest !== undefined && (unseen > 0 || (items?.some((n) => n.seenAt === null) ?? false));
  const newestId = newest?.id ?? null;
  useEffect(() => {
    if (!wanted || newestId === null) return;
    const mark = () => {
      // Once per newest entry: marking it again would change nothing.
      if (document.visibilityState !== 'visible' || marked.current === newestId) return;
      marked.current = newestId;
      markSeen(newestId);
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    return () => document.removeEventListener('visibilitychange', mark);
  }, [wanted, newestId, markSeen]);
}

const SEVERITIES: { value: Severity; label: string }[] = [
  { value: 'critical', label: 'Critical' },
  { value: 'warning', label: 'Warning' },
  { value: 'info', label: 'Info' },
];

const VIEWS: { value: InboxView; label: string }[] = [
  { value: 'inbox', label: 'Inbox' },
  { value: 'snoozed', label: 'Snoozed' },
  { value: 'archived', label: 'Archived' },
];

function FilterBar({
  filters,
  onChange,
}: {
  filters: InboxFilters;
  onChange: (next: InboxFilters) => void;
}) {
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 }).data ?? [];
  const set = (patch: Partial<InboxFilters>) => onChange({ ...filters, ...patch });
  return (
    <div className="inbox-filters" data-testid="inbox-filters">
      <div className="inbox-filters__views" role="group" aria-label="Show">
        {VIEWS.map((v) => (
          <button
            key={v.value}
            type="button"
            className="chip"
            aria-pressed={filters.view === v.value}
            data-view={v.value}
            onClick={() => set({ view: v.value })}
          >
            {v.label}
          </button>
        ))}
      </div>
      <label className="inbox-filters__search">
        <span className="visually-hidden">Search notifications</span>
        <input
          type="search"
          placeholder="Search title or text"
          maxLength={200}
          value={filters.search}
          data-testid="inbox-search"
          onChange={(e) => set({ search: e.target.value })}
        />
      </label>
      <div className="inbox-filters__more">
        <label className="check">
          <input
            type="checkbox"
            checked={filters.unreadOnly}
            data-testid="filter-unread"
            onChange={(e) => set({ unreadOnly: e.target.checked })}
          />
          Unread
        </label>
        <fieldset className="inbox-filters__severity">
          <legend className="visually-hidden">Severity</legend>
          {SEVERITIES.map((s) => (
            <label key={s.value} className="check">
              <input
                type="checkbox"
                checked={filters.severity.includes(s.value)}
                data-severity={s.value}
                onChange={(e) =>
                  set({
                    severity: e.target.checked
                      ? [...filters.severity, s.value]
                      : filters.severity.filter((x) => x !== s.value),
                  })
                }
              />
              {s.label}
            </label>
          ))}
        </fieldset>
        {teams.length > 0 && (
          <label className="check">
            <span className="visually-hidden">Team</span>
            <select
              className="small-select"
              value={filters.teamId ?? ''}
              data-testid="filter-team"
              onChange={(e) => set({ teamId: e.target.value === '' ? null : e.target.value })}
            >
              <option value="">All teams</option>
              {teams.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="check">
          <input
            type="checkbox"
            checked={filters.grouped}
            data-testid="filter-grouped"
            onChange={(e) => set({ grouped: e.target.checked })}
          />
          Group similar
        </label>
      </div>
    </div>
  );
}
