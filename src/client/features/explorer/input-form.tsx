import { useId, useState, type FormEvent, type ReactNode } from 'react';
import type { JsonSchema } from '../../../shared/api-contract.ts';
import { FieldEditor, MembersEditor } from './field-editor.tsx';
import { fieldFor, parseJson, valueOf, type FormField, type Problem } from './schema-form.ts';

/**
 * A procedure's input, edited as the form its schema maps to or as raw JSON, and the button
 * that sends it. Nothing is refused here but what cannot be built (a number that is not one,
 * JSON that does not parse): the server checks the rest, and its answer is what is explored.
 */
export function InputForm({
  schema,
  submitLabel,
  onSubmit,
  children,
}: {
  /** The input's schema; `null`: the procedure takes none. */
  schema: JsonSchema | null;
  submitLabel: string;
  onSubmit: (input: unknown) => void;
  /** More buttons, after the submit button. */
  children?: ReactNode;
}) {
  const [field, setField] = useState<FormField | null>(() => (schema ? fieldFor(schema) : null));
  /** The raw JSON being edited instead of the form; `null` while the form is. */
  const [json, setJson] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const jsonId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!field) return onSubmit(undefined);
    const built = json === null ? valueOf(field) : parseJson(json);
    setProblems(built.ok ? [] : built.problems);
    if (built.ok) onSubmit(built.value);
  };

  const toggleJson = () => {
    if (!field) return;
    if (json !== null) return setJson(null);
    const built = valueOf(field);
    setJson(JSON.stringify(built.ok ? built.value : {}, null, 2));
    setProblems([]);
  };

  return (
    <form className="xp-form" noValidate onSubmit={submit} aria-label="Input">
      {!field ? (
        <p className="muted">Takes no input.</p>
      ) : json !== null ? (
        <div className="xf-field">
          <label htmlFor={jsonId}>Input as JSON</label>
          <textarea
            id={jsonId}
            className="xf-json"
            spellCheck={false}
            value={json}
            onChange={(e) => setJson(e.target.value)}
          />
        </div>
      ) : field.kind === 'object' ? (
        <MembersEditor
          members={field.members}
          onChange={(members) => setField({ ...field, members })}
        />
      ) : (
        <FieldEditor field={field} label="input" required onChange={setField} />
      )}
      {problems.length > 0 && (
        <ul className="xp-problems" role="alert">
          {problems.map((p, i) => (
            <li key={i}>
              {p.path ? <code>{p.path}</code> : 'input'}: {p.message}
            </li>
          ))}
        </ul>
      )}
      <div className="xp-actions">
        <button type="submit" className="primary" data-testid="explorer-submit">
          {submitLabel}
        </button>
        {children}
        {field && (
          <button type="button" className="link-button" onClick={toggleJson}>
            {json === null ? 'Edit as JSON' : 'Back to the form'}
          </button>
        )}
      </div>
    </form>
  );
}
