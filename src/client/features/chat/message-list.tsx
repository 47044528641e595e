import { Fragment, useLayoutEffect, useRef, type ReactNode } from 'react';
import { RelativeTime } from '../../components/relative-time.tsx';
import type { ChatItem } from './use-chat-room.ts';

/** Mentions stand out; the text stays exactly what was written. */
const MENTION = /(^|[^\w@])(@[a-z0-9_.-]{1,40})/g;
function withMentions(text: string): ReactNode {
  const parts: ReactNode[] = [];
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    const start = match.index + (match[1]?.length ?? 0);
    const mention = match[2] ?? '';
    parts.push(
      text.slice(at, start),
      <span className="mention" key={start}>
        {mention}
      </span>,
    );
    at = start + mention.length;
  }
  parts.push(text.slice(at));
  return parts.map((part, i) =>
    typeof part === 'string' ? <Fragment key={`t${i}`}>{part}</Fragment> : part,
  );
}

/** Within this many pixels of the bottom counts as reading the newest messages. */
const STICK_PX = 48;
/** Within this many pixels of the top, older messages are fetched. */
const LOAD_OLDER_PX = 120;

export interface MessageListProps {
  items: readonly ChatItem[];
  me: string;
  name: (userId: string) => string;
  loading: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  onRetry: (clientMessageId: string) => void;
  onDiscard: (clientMessageId: string) => void;
}

/**
 * The room's messages, oldest at the top. Scrolling near the top loads older pages without
 * moving what is on screen; new messages keep the view at the bottom if it was there (or the
 * message is ours).
 */
export function MessageList(props: MessageListProps) {
  const { items, hasOlder, loadingOlder, onLoadOlder } = props;
  const ref = useRef<HTMLDivElement>(null);
  // Measured after each render and scroll, so the next render knows where the reader was.
  const fromBottom = useRef(0);
  const firstKey = useRef<string | null>(null);
  const lastKey = useRef<string | null>(null);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const first = items[0]?.key ?? null;
    const last = items.at(-1);
    const prepended = firstKey.current !== null && first !== firstKey.current;
    const appendedOwn =
      last !== undefined && last.key !== lastKey.current && last.kind === 'outbox';
    if (fromBottom.current <= STICK_PX || appendedOwn) {
      el.scrollTop = el.scrollHeight;
    } else if (prepended) {
      el.scrollTop = el.scrollHeight - el.clientHeight - fromBottom.current;
    }
    firstKey.current = first;
    lastKey.current = last?.key ?? null;
    fromBottom.current = el.scrollHeight - el.clientHeight - el.scrollTop;
  }, [items]);

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    fromBottom.current = el.scrollHeight - el.clientHeight - el.scrollTop;
    if (el.scrollTop < LOAD_OLDER_PX && hasOlder && !loadingOlder) onLoadOlder();
  };

  return (
    <div className="chat-messages" ref={ref} onScroll={onScroll} data-testid="chat-messages">
      {hasOlder && (
        <p className="chat-messages__older">
          <button
            type="button"
            className="link-button"
            onClick={onLoadOlder}
            disabled={loadingOlder}
            data-testid="chat-load-older"
          >
            {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
          </button>
        </p>
      )}
      {props.loading && items.length === 0 && <p className="muted pad">Loading…</p>}
      {!props.loading && items.length === 0 && (
        <p className="muted pad" data-testid="chat-empty">
          No messages yet. Say hello.
        </p>
      )}
      <ol className="chat-list">
        {items.map((item) => (
          <ChatRow
            key={item.key}
            item={item}
            me={props.me}
            name={props.name}
            onRetry={props.onRetry}
            onDiscard={props.onDiscard}
          />
        ))}
      </ol>
    </div>
  );
}

function ChatRow({
  item,
  me,
  name,
  onRetry,
  onDiscard,
}: { item: ChatItem } & Pick<MessageListProps, 'me' | 'name' | 'onRetry' | 'onDiscard'>) {
  if (item.kind === 'message') {
    const { message } = item;
    const mine = message.authorId === me;
    return (
      <li
        className={mine ? 'chat-msg chat-msg--mine' : 'chat-msg'}
        data-testid="chat-message"
        data-status="sent"
        data-id={message.id}
      >
        <div className="chat-msg__meta">
          <strong className="chat-msg__author">{name(message.authorId)}</strong>
          <RelativeTime iso={message.createdAt} />
        </div>
        <p className="chat-msg__text" data-testid="chat-message-text">
          {withMentions(message.text)}
        </p>
      </li>
    );
  }
  const { entry, sending } = item;
  const status = entry.failed ? 'failed' : sending ? 'sending' : 'pending';
  const note = entry.failed
    ? `Not sent: ${entry.lastError ?? 'refused'}`
    : sending
      ? 'Sending…'
      : entry.lastError
        ? 'Not sent yet; trying again'
        : 'Waiting to send';
  return (
    <li
      className={`chat-msg chat-msg--mine chat-msg--${status}`}
      data-testid="chat-message"
      data-status={status}
      data-client-id={entry.clientMessageId}
      aria-busy={!entry.failed}
    >
      <div className="chat-msg__meta">
        <strong className="chat-msg__author">{name(me)}</strong>
        <span
          className="chat-msg__state"
          data-testid="chat-message-state"
          title={entry.lastError ?? undefined}
        >
          {note}
        </span>
      </div>
      <p className="chat-msg__text" data-testid="chat-message-text">
        {withMentions(entry.text)}
      </p>
      {(entry.failed || (entry.lastError !== null && !sending)) && (
        <div className="chat-msg__actions">
          {[
            { label: 'Retry', testId: 'chat-retry', run: onRetry },
            ...(entry.failed ? [{ label: 'Discard', testId: 'chat-discard', run: onDiscard }] : []),
          ].map((action) => (
            <button
              key={action.testId}
              type="button"
              className="link-button"
              onClick={() => action.run(entry.clientMessageId)}
              data-testid={action.testId}
            >
              {action.label}
            </button>
          ))}
        </div>
      )}
    </li>
  );
}
