import { useCallback, useId, useState, type FormEvent } from 'react';
import {
  fromLocalInput,
  inOneHour,
  nextWeek,
  shortWhen,
  snoozeProblem,
  toLocalInput,
  tomorrowMorning,
} from './snooze-times.ts';
import { MenuButton } from '../../components/menu-button.tsx';

export interface SnoozeMenuProps {
  /** What is snoozed, for the button's accessible name ("Snooze “Disk full”"). */
  what: string;
  /** How far ahead a snooze may go (the server's limit). */
  maxDays: number;
  onSnooze: (until: Date) => void;
  disabled?: boolean;
}

/** Snooze for an hour, until tomorrow morning, until next week, or until a time of one's own. */
export function SnoozeMenu({ what, maxDays, onSnooze, disabled }: SnoozeMenuProps) {
  const [custom, setCustom] = useState(false);
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const problemId = useId();
  const reset = useCallback(() => {
    setCustom(false);
    setProblem(null);
  }, []);
  const now = new Date();
  const presets = [
    { label: 'For 1 hour', at: inOneHour(now), key: 'hour' },
    {
      label: `Tomorrow morning (${shortWhen(tomorrowMorning(now), now)})`,
      at: tomorrowMorning(now),
      key: 'tomorrow',
    },
    { label: `Next week (${shortWhen(nextWeek(now), now)})`, at: nextWeek(now), key: 'week' },
  ];

  return (
    <MenuButton
      label="Snooze"
      ariaLabel={`Snooze “${what}”`}
      className="link-button"
      disabled={disabled}
      testId="snooze"
      popupRole={custom ? 'dialog' : 'menu'}
      onClose={reset}
    >
      {(close) => {
        if (!custom) {
          return (
            <>
              {presets.map((p) => (
                <button
                  key={p.key}
                  type="button"
                  role="menuitem"
                  className="menu__item"
                  data-snooze={p.key}
                  onClick={() => {
                    close();
                    onSnooze(p.at);
                  }}
                >
                  {p.label}
                </button>
              ))}
              <button
                type="button"
                role="menuitem"
                className="menu__item"
                data-snooze="custom"
                onClick={() => {
                  setValue(toLocalInput(inOneHour(new Date())));
                  setCustom(true);
                }}
              >
                Pick a date and time…
              </button>
            </>
          );
        }
        const submit = (event: FormEvent) => {
          event.preventDefault();
          const until = fromLocalInput(value);
          const why =
            until === null ? 'Pick a date and time.' : snoozeProblem(until, new Date(), maxDays);
          if (until === null || why !== null) {
            setProblem(why);
            return;
          }
          close();
          onSnooze(until);
        };
        return (
          <form className="menu__form" onSubmit={submit} noValidate>
            <label className="field">
              Snooze until
              <input
                type="datetime-local"
                step={1}
                value={value}
                data-testid="snooze-until"
                aria-invalid={problem !== null}
                aria-describedby={problem ? problemId : undefined}
                onChange={(e) => {
                  setValue(e.target.value);
                  setProblem(null);
                }}
              />
            </label>
            {problem && (
              <p className="error-text small" id={problemId} role="alert">
                {problem}
              </p>
            )}
            <button type="submit" className="primary" data-testid="snooze-custom">
              Snooze
            </button>
          </form>
        );
      }}
    </MenuButton>
  );
}
