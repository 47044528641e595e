import { severitySchema, type Severity } from '../../shared/schemas/common.ts';

/** A labelled severity picker. */
export function SeverityField(props: { value: Severity; onChange: (value: Severity) => void }) {
  return (
    <label>
      Severity
      <select
        name="severity"
        value={props.value}
        onChange={(e) => props.onChange(severitySchema.catch('warning').parse(e.target.value))}
      >
        {severitySchema.options.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A labelled team picker, with the field's error when there is one. */
export function TeamField(props: {
  value: string;
  teams: readonly { id: string; name: string }[];
  onChange: (teamId: string) => void;
  error?: string | undefined;
}) {
  return (
    <label>
      Team
      <select name="team" value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.teams.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
      {props.error && <span className="field-error">{props.error}</span>}
    </label>
  );
}
