/** How often `typing: true` is repeated while the user types (the server forgets it after 5 s). */
export const TYPING_REPEAT_MS = 2000;

export interface TypingReporter {
  /** The composer's text changed to `text`. */
  input: (text: string) => void;
  /** Sent, left the field, or the room: no longer typing. */
  stop: () => void;
}

/**
 * Turns keystrokes into `chat.setTyping` calls: at most one `true` per `repeatMs` while the
 * user keeps typing, and one `false` when the text is emptied, sent, or the field is left. Pure
 * timing (no timers): `now` is read at each keystroke.
 */
export function createTypingReporter(opts: {
  send: (typing: boolean) => void;
  now?: () => number;
  repeatMs?: number;
}): TypingReporter {
  const now = opts.now ?? Date.now;
  const repeatMs = opts.repeatMs ?? TYPING_REPEAT_MS;
  let active = false;
  let lastTrue = Number.NEGATIVE_INFINITY;
  const stop = () => {
    if (!active) return;
    active = false;
    // The next burst of typing is news: it is told at once.
    lastTrue = Number.NEGATIVE_INFINITY;
    opts.send(false);
  };
  return {
    input(text) {
      if (text.trim() === '') {
        stop();
        return;
      }
      const at = now();
      if (at - lastTrue < repeatMs) return;
      active = true;
      lastTrue = at;
      opts.send(true);
    },
    stop,
  };
}

/** "Alice is typing…", "Alice and Bob are typing…", "3 people are typing…", or nothing. */
export function typingText(names: readonly string[]): string {
  const [first, second] = names;
  if (first === undefined) return '';
  if (second === undefined) return `${first} is typing…`;
  if (names.length === 2) return `${first} and ${second} are typing…`;
  return `${names.length} people are typing…`;
}
