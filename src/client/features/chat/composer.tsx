import { useEffect, useMemo, useState, type FormEvent, type KeyboardEvent } from 'react';
import { CHAT_TEXT_MAX } from '../../../shared/limits.ts';
import { createTypingReporter } from './typing.ts';

export interface ComposerProps {
  roomName: string;
  /** Queues the message; the outbox sends it when it can. */
  onSend: (text: string) => void;
  /** Tells the room whether we are typing; dropped while the link is down. */
  onTyping: (typing: boolean) => void;
  /** Shown under the field when messages will wait (offline, reconnecting). */
  hint: string | null;
}

/** Enter sends, Shift+Enter starts a new line. */
export function Composer({ roomName, onSend, onTyping, hint }: ComposerProps) {
  const [text, setText] = useState('');
  const typing = useMemo(() => createTypingReporter({ send: onTyping }), [onTyping]);
  // Leaving the room (or the page) while typing clears the indicator at once.
  useEffect(() => () => typing.stop(), [typing]);

  const blank = text.trim() === '';
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (blank) return;
    onSend(text.trim());
    setText('');
    typing.stop();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <form className="chat-composer" onSubmit={submit}>
      <textarea
        className="chat-composer__input"
        data-testid="chat-input"
        aria-label={`Message ${roomName}`}
        placeholder={`Message ${roomName} (Enter to send, Shift+Enter for a new line)`}
        rows={2}
        maxLength={CHAT_TEXT_MAX}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          typing.input(event.target.value);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => typing.stop()}
      />
      <div className="chat-composer__side">
        <button type="submit" className="primary" disabled={blank} data-testid="chat-send">
          Send
        </button>
        {text.length > CHAT_TEXT_MAX - 200 && (
          <span className="small muted">{CHAT_TEXT_MAX - text.length} left</span>
        )}
      </div>
      {hint && (
        <p className="chat-composer__hint small muted" data-testid="chat-composer-hint">
          {hint}
        </p>
      )}
    </form>
  );
}
