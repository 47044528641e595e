import { useState, type ComponentProps, type ReactNode } from 'react';
import type { z } from 'zod';
import { severitySchema, type Severity } from '../../shared/schemas/common.ts';

/** What a form shows under its fields: one message per field that failed. */
export type Problems<Values> = Partial<Record<keyof Values, string>>;

/**
 * A form's check against its zod schema, the same one the server applies. `check` answers the
 * parsed values, or null after recording one message per failed field: the one `explain`
 * gives for that field (from zod's message), else zod's own.
 */
export function useFormCheck<Schema extends z.ZodType<object>>(schema: Schema) {
  type Values = z.input<Schema>;
  const [problems, setProblems] = useState<Problems<Values>>({});
  const check = (
    values: Values,
    explain: { [K in keyof Values]?: (message: string) => string } = {},
  ): z.output<Schema> | null => {
    const parsed = schema.safeParse(values);
    if (parsed.success) {
      setProblems({});
      return parsed.data;
    }
    const found: Problems<Values> = {};
    for (const issue of parsed.error.issues) {
      const field = issue.path[0] as keyof Values | undefined;
      if (field === undefined || found[field] !== undefined) continue;
      found[field] = explain[field]?.(issue.message) ?? issue.message;
    }
    setProblems(found);
    return null;
  };
  return { problems, check };
}

/** A labelled text input with its error; other input attributes pass through. */
export function TextField({
  label,
  value,
  onChange,
  error,
  children,
  ...input
}: Omit<ComponentProps<'input'>, 'value' | 'onChange' | 'children'> & {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  /** Shown after the input (a `<datalist>`, say). */
  children?: ReactNode;
}) {
  return (
    <label className="field">
      {label}
      <input
        {...input}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
      />
      {children}
      {error && <span className="field-error">{error}</span>}
    </label>
  );
}

/** A labelled picker of one of `options`, each shown as its label (or itself). */
export function ChoiceField<Value extends string>(props: {
  label: string;
  name: string;
  value: Value;
  options: readonly (Value | { value: Value; label: string })[];
  onChange: (value: Value) => void;
  error?: string | undefined;
}) {
  const options = props.options.map((o) => (typeof o === 'string' ? { value: o, label: o } : o));
  return (
    <label className="field">
      {props.label}
      <select
        name={props.name}
        value={props.value}
        onChange={(e) => {
          const chosen = options.find((o) => o.value === e.target.value);
          if (chosen) props.onChange(chosen.value);
        }}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.error && <span className="field-error">{props.error}</span>}
    </label>
  );
}

/** A labelled severity picker. */
export function SeverityField(props: { value: Severity; onChange: (value: Severity) => void }) {
  return (
    <ChoiceField label="Severity" name="severity" options={severitySchema.options} {...props} />
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
    <ChoiceField
      label="Team"
      name="team"
      value={props.value}
      options={props.teams.map((t) => ({ value: t.id, label: t.name }))}
      onChange={props.onChange}
      error={props.error}
    />
  );
}
