import { useEffect, useRef, useState, type FormEvent } from 'react';
import { NOTIFICATION_GROUP_KEY_MAX, NOTIFICATION_MUTES_MAX } from '../../../shared/limits.ts';
import {
  isTimeZone,
  type NotificationPreferences,
  type QuietHours,
} from '../../../shared/schemas/notifications.ts';
import { trpc } from '../../trpc.ts';
import { usePreferences } from './use-notification-queries.ts';

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The time zones to offer: the runtime's list where it has one, with the browser's own first. */
function timeZones(current: string): string[] {
  const all =
    typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set([current, browserZone(), 'UTC', ...all])];
}

/**
 * The caller's notification preferences, saved optimistically: the cache holds the new ones at
 * once, the dialog closes, and a refusal puts the old ones back and says why (`failure`).
 */
export function useSavePreferences() {
  const utils = trpc.useUtils();
  const [failure, setFailure] = useState<string | null>(null);
  const mutation = trpc.notifications.setPreferences.useMutation({
    onMutate: async (next) => {
      setFailure(null);
      await utils.notifications.preferences.cancel();
      const before = utils.notifications.preferences.getData();
      utils.notifications.preferences.setData(undefined, next);
      return { before };
    },
    onSuccess: (saved) => utils.notifications.preferences.setData(undefined, saved),
    onError: (error, _next, context) => {
      if (context?.before) utils.notifications.preferences.setData(undefined, context.before);
      setFailure(`Could not save your preferences: ${error.message}`);
    },
    onSettled: () => {
      // What is muted and quiet changes what lists show and what the badge counts.
      void utils.notifications.list.invalidate();
      void utils.notifications.unseenCount.invalidate();
    },
  });
  return { save: mutation.mutate, failure, dismiss: () => setFailure(null) };
}

/** The button that opens the preferences, and the dialog. */
export function PreferencesButton() {
  const [open, setOpen] = useState(false);
  const saver = useSavePreferences();
  return (
    <>
      <button
        type="button"
        className="link-button"
        data-testid="open-preferences"
        onClick={() => setOpen(true)}
      >
        Preferences
      </button>
      {saver.failure && (
        <span className="error-text small" role="alert" data-testid="preferences-failure">
          {saver.failure}{' '}
          <button type="button" className="link-button" onClick={saver.dismiss}>
            Dismiss
          </button>
        </span>
      )}
      {open && (
        <PreferencesDialog
          onClose={() => setOpen(false)}
          onSave={(prefs) => {
            saver.save(prefs);
            setOpen(false);
          }}
        />
      )}
    </>
  );
}

function PreferencesDialog(props: {
  onClose: () => void;
  onSave: (prefs: NotificationPreferences) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const prefs = usePreferences();
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 }).data ?? [];
  const onClose = useRef(props.onClose);
  useEffect(() => {
    onClose.current = props.onClose;
  });

  // Modal: focus stays inside, Escape closes it, and closing gives the focus back.
  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    el.showModal();
    const closed = () => {
      // A `close` queued by an earlier close (StrictMode runs this effect twice) finds it open.
      if (!el.open) onClose.current();
    };
    el.addEventListener('close', closed);
    return () => {
      el.removeEventListener('close', closed);
      if (el.open) el.close();
    };
  }, []);

  return (
    <dialog
      ref={dialog}
      className="prefs"
      aria-labelledby="prefs-title"
      data-testid="preferences-dialog"
    >
      <h2 id="prefs-title">Notification preferences</h2>
      {prefs.data ? (
        <PreferencesForm
          initial={prefs.data}
          teams={teams}
          onSave={props.onSave}
          onCancel={() => dialog.current?.close()}
        />
      ) : prefs.error ? (
        <p className="error-text" role="alert">
          Could not load your preferences: {prefs.error.message}
        </p>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </dialog>
  );
}

function PreferencesForm(props: {
  initial: NotificationPreferences;
  teams: { id: string; name: string }[];
  onSave: (prefs: NotificationPreferences) => void;
  onCancel: () => void;
}) {
  const { initial } = props;
  const [severities, setSeverities] = useState(initial.mutedSeverities);
  const [teamIds, setTeamIds] = useState(initial.mutedTeamIds);
  const [groupKeys, setGroupKeys] = useState(initial.mutedGroupKeys);
  const [newKey, setNewKey] = useState('');
  const [quiet, setQuiet] = useState<QuietHours | null>(initial.quietHours);
  const [problem, setProblem] = useState<string | null>(null);
  const toggle = <T,>(list: T[], value: T, on: boolean) =>
    on ? [...list.filter((x) => x !== value), value] : list.filter((x) => x !== value);

  const addKey = () => {
    const key = newKey.trim();
    if (key === '') return;
    if (groupKeys.length >= NOTIFICATION_MUTES_MAX) {
      setProblem(`At most ${NOTIFICATION_MUTES_MAX} muted groups.`);
      return;
    }
    setGroupKeys(toggle(groupKeys, key, true));
    setNewKey('');
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (quiet && quiet.start === quiet.end) {
      setProblem('Quiet hours need a start and an end that differ.');
      return;
    }
    if (quiet && !isTimeZone(quiet.timeZone)) {
      setProblem(`Unknown time zone '${quiet.timeZone}'.`);
      return;
    }
    props.onSave({
      mutedSeverities: severities,
      mutedTeamIds: teamIds,
      mutedGroupKeys: groupKeys,
      quietHours: quiet,
    });
  };

  return (
    <form className="prefs__form" onSubmit={submit} noValidate>
      <fieldset>
        <legend>Mute severities</legend>
        {(['info', 'warning'] as const).map((s) => (
          <label key={s} className="check">
            <input
              type="checkbox"
              checked={severities.includes(s)}
              data-mute-severity={s}
              onChange={(e) => setSeverities(toggle(severities, s, e.target.checked))}
            />
            {s === 'info' ? 'Info' : 'Warning'}
          </label>
        ))}
        <p className="muted small">Critical notifications always come through.</p>
      </fieldset>
      {props.teams.length > 0 && (
        <fieldset>
          <legend>Mute teams</legend>
          {props.teams.map((t) => (
            <label key={t.id} className="check">
              <input
                type="checkbox"
                checked={teamIds.includes(t.id)}
                data-mute-team={t.id}
                onChange={(e) => setTeamIds(toggle(teamIds, t.id, e.target.checked))}
              />
              {t.name}
            </label>
          ))}
        </fieldset>
      )}
      <fieldset>
        <legend>Mute groups</legend>
        {groupKeys.length > 0 && (
          <ul className="prefs__keys">
            {groupKeys.map((key) => (
              <li key={key}>
                <code>{key}</code>{' '}
                <button
                  type="button"
                  className="link-button"
                  aria-label={`Stop muting ${key}`}
                  onClick={() => setGroupKeys(toggle(groupKeys, key, false))}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <div className="prefs__add">
          <label className="field">
            Group key
            <input
              value={newKey}
              maxLength={NOTIFICATION_GROUP_KEY_MAX}
              data-testid="mute-group-key"
              onChange={(e) => setNewKey(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  addKey();
                }
              }}
            />
          </label>
          <button type="button" className="ghost" onClick={addKey}>
            Mute group
          </button>
        </div>
      </fieldset>
      <fieldset>
        <legend>Quiet hours</legend>
        <label className="check">
          <input
            type="checkbox"
            checked={quiet !== null}
            data-testid="quiet-hours"
            onChange={(e) =>
              setQuiet(
                e.target.checked ? { start: '22:00', end: '07:00', timeZone: browserZone() } : null,
              )
            }
          />
          Hold back badges and desktop notifications (except critical ones)
        </label>
        {quiet && (
          <div className="prefs__quiet">
            <label className="field">
              From
              <input
                type="time"
                value={quiet.start}
                required
                onChange={(e) => setQuiet({ ...quiet, start: e.target.value })}
              />
            </label>
            <label className="field">
              To
              <input
                type="time"
                value={quiet.end}
                required
                onChange={(e) => setQuiet({ ...quiet, end: e.target.value })}
              />
            </label>
            <label className="field">
              Time zone
              <select
                value={quiet.timeZone}
                onChange={(e) => setQuiet({ ...quiet, timeZone: e.target.value })}
              >
                {timeZones(quiet.timeZone).map((zone) => (
                  <option key={zone} value={zone}>
                    {zone}
                  </option>
                ))}
              </select>
            </label>
          </div>
        )}
      </fieldset>
      {problem && (
        <p className="error-text small" role="alert">
          {problem}
        </p>
      )}
      <div className="prefs__buttons">
        <button type="button" className="ghost" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" data-testid="save-preferences">
          Save
        </button>
      </div>
    </form>
  );
}
