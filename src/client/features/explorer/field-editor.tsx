import { useId, type ReactNode } from 'react';
import { choose, fieldFor, hintsOf, type FormField, type Member } from './schema-form.ts';

type Of<Kind extends FormField['kind']> = FormField & { kind: Kind };

interface EditorProps<Field extends FormField = FormField> {
  field: Field;
  /** The field's name (a property, `tags 2` for an item): its label. */
  label: string;
  onChange: (next: FormField) => void;
  /** Whether the schema requires it: said in the hint, and to assistive technology. */
  required?: boolean;
  /** Controls that act on the field itself (send it, make it null, remove it), after its label. */
  extras?: ReactNode;
  disabled?: boolean;
}

const replaceAt = <T,>(list: readonly T[], index: number, item: T): T[] =>
  list.map((old, i) => (i === index ? item : old));

const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** One field of a procedure's input, by the kind the schema mapped it to (schema-form.ts). */
export function FieldEditor(props: EditorProps) {
  const { field } = props;
  switch (field.kind) {
    case 'object':
      return <ObjectEditor {...props} field={field} />;
    case 'list':
      return <ListEditor {...props} field={field} />;
    case 'union':
      return <UnionEditor {...props} field={field} />;
    case 'nullable':
      return <NullableEditor {...props} field={field} />;
    case 'text':
    case 'number':
    case 'boolean':
    case 'choice':
    case 'fixed':
    case 'json':
      return <LeafEditor {...props} field={field} />;
  }
}

/** A field's label, its control, and under them what the schema asks of it. */
function LeafEditor(
  props: EditorProps<Of<'text' | 'number' | 'boolean' | 'choice' | 'fixed' | 'json'>>,
) {
  const { field, label, extras, required } = props;
  const id = useId();
  const hints = [required ? 'required' : null, ...hintsOf(field)].filter((h) => h !== null);
  const hintId = hints.length > 0 ? `${id}-hint` : undefined;
  return (
    <div className="xf-field" data-field={label}>
      <div className="xf-field__head">
        <label htmlFor={id}>{label}</label>
        {extras}
      </div>
      <LeafControl {...props} id={id} hintId={hintId} />
      {hintId && (
        <span className="xf-hint" id={hintId}>
          {hints.join(' · ')}
        </span>
      )}
      {field.description && <span className="xf-description">{field.description}</span>}
      {field.kind === 'json' && (
        <details className="xf-schema">
          <summary>Schema</summary>
          <pre>{JSON.stringify(field.schema, null, 2)}</pre>
        </details>
      )}
    </div>
  );
}

function LeafControl({
  field,
  label,
  onChange,
  required,
  disabled,
  id,
  hintId,
}: EditorProps<Of<'text' | 'number' | 'boolean' | 'choice' | 'fixed' | 'json'>> & {
  id: string;
  hintId: string | undefined;
}) {
  const common = { id, disabled, 'aria-describedby': hintId, 'aria-required': required };
  switch (field.kind) {
    case 'text': {
      const long = (field.rules.maxLength ?? 0) > 200;
      const Control = long ? 'textarea' : 'input';
      const control = (
        <Control
          {...common}
          value={field.text}
          onChange={(e) => onChange({ ...field, text: e.target.value })}
        />
      );
      if (field.rules.format !== 'uuid') return control;
      return (
        <div className="xf-inline">
          {control}
          <button
            type="button"
            className="ghost"
            disabled={disabled}
            aria-label={`New UUID for ${label}`}
            onClick={() => onChange({ ...field, text: crypto.randomUUID() })}
          >
            New UUID
          </button>
        </div>
      );
    }
    case 'number':
      return (
        <input
          {...common}
          type="number"
          step={field.rules.integer ? 1 : 'any'}
          min={field.rules.minimum}
          max={field.rules.maximum}
          value={field.text}
          onChange={(e) => onChange({ ...field, text: e.target.value })}
        />
      );
    case 'boolean':
      return (
        <input
          {...common}
          type="checkbox"
          checked={field.value}
          onChange={(e) => onChange({ ...field, value: e.target.checked })}
        />
      );
    case 'choice':
      return (
        <select
          {...common}
          value={String(field.index)}
          onChange={(e) => onChange({ ...field, index: Number(e.target.value) })}
        >
          {field.options.map((option, i) => (
            <option key={i} value={String(i)}>
              {shown(option)}
            </option>
          ))}
        </select>
      );
    case 'fixed':
      return (
        <output id={id} aria-describedby={hintId} className="xf-fixed">
          {shown(field.value)}
        </output>
      );
    case 'json':
      return (
        <textarea
          {...common}
          className="xf-json"
          spellCheck={false}
          value={field.text}
          onChange={(e) => onChange({ ...field, text: e.target.value })}
        />
      );
  }
}

/** A group of fields under its name, with the field's own controls beside the name. */
function Group({
  label,
  extras,
  description,
  children,
}: {
  label: string;
  extras?: ReactNode;
  description?: string | undefined;
  children: ReactNode;
}) {
  // Not `<fieldset disabled>`: that would also disable the field's own controls in `extras`
  // (the "null" box that disabled it); each control below is disabled by itself instead.
  return (
    <fieldset className="xf-group" data-field={label}>
      <legend>{label}</legend>
      {extras && <div className="xf-field__head">{extras}</div>}
      {description && <span className="xf-description">{description}</span>}
      {children}
    </fieldset>
  );
}

/** An object's properties, each with a "send" box when optional (checked by editing it). */
export function MembersEditor({
  members,
  onChange,
  disabled,
}: {
  members: Member[];
  onChange: (members: Member[]) => void;
  disabled?: boolean | undefined;
}) {
  return members.map((member, i) => {
    const update = (next: Member) => onChange(replaceAt(members, i, next));
    const send = member.required ? null : (
      <label className="xf-send">
        <input
          type="checkbox"
          checked={member.sent}
          disabled={disabled}
          aria-label={`Send ${member.name}`}
          onChange={(e) => update({ ...member, sent: e.target.checked })}
        />
        send
      </label>
    );
    return (
      <FieldEditor
        key={member.name}
        field={member.field}
        label={member.name}
        required={member.required}
        extras={send}
        disabled={disabled}
        onChange={(field) => update({ ...member, field, sent: true })}
      />
    );
  });
}

function ObjectEditor({ field, label, onChange, extras, disabled }: EditorProps<Of<'object'>>) {
  return (
    <Group label={label} extras={extras} description={field.description}>
      {field.members.length === 0 && <span className="xf-hint">an empty object</span>}
      <MembersEditor
        members={field.members}
        disabled={disabled}
        onChange={(members) => onChange({ ...field, members })}
      />
    </Group>
  );
}

function ListEditor({ field, label, onChange, extras, disabled }: EditorProps<Of<'list'>>) {
  const hints = hintsOf(field);
  return (
    <Group label={label} extras={extras} description={field.description}>
      {hints.length > 0 && <span className="xf-hint">{hints.join(' · ')}</span>}
      {field.items.map((item, i) => (
        <FieldEditor
          key={i}
          field={item}
          label={`${label} ${i + 1}`}
          disabled={disabled}
          onChange={(next) => onChange({ ...field, items: replaceAt(field.items, i, next) })}
          extras={
            <button
              type="button"
              className="link-button"
              disabled={disabled}
              aria-label={`Remove ${label} ${i + 1}`}
              onClick={() => onChange({ ...field, items: field.items.filter((_, j) => j !== i) })}
            >
              remove
            </button>
          }
        />
      ))}
      <button
        type="button"
        className="ghost xf-add"
        disabled={disabled}
        aria-label={`Add to ${label}`}
        onClick={() => onChange({ ...field, items: [...field.items, fieldFor(field.item)] })}
      >
        Add
      </button>
    </Group>
  );
}

function UnionEditor({ field, label, onChange, extras, disabled }: EditorProps<Of<'union'>>) {
  const id = useId();
  const { inner } = field;
  const branch = field.branches[field.chosen];
  return (
    <Group label={label} extras={extras} description={field.description}>
      <div className="xf-field">
        <label htmlFor={id}>one of</label>
        <select
          id={id}
          disabled={disabled}
          value={String(field.chosen)}
          onChange={(e) => onChange(choose(field, Number(e.target.value)))}
        >
          {field.branches.map((b, i) => (
            <option key={i} value={String(i)}>
              {b.label}
            </option>
          ))}
        </select>
      </div>
      {inner.kind === 'object' ? (
        <MembersEditor
          members={inner.members}
          disabled={disabled}
          onChange={(members) => onChange({ ...field, inner: { ...inner, members } })}
        />
      ) : (
        <FieldEditor
          field={inner}
          label={branch?.label ?? label}
          disabled={disabled}
          onChange={(next) => onChange({ ...field, inner: next })}
        />
      )}
    </Group>
  );
}

function NullableEditor({
  field,
  onChange,
  extras,
  disabled,
  ...rest
}: EditorProps<Of<'nullable'>>) {
  const { label } = rest;
  const toNull = (
    <label className="xf-send">
      <input
        type="checkbox"
        checked={field.isNull}
        disabled={disabled}
        aria-label={`${label} is null`}
        onChange={(e) => onChange({ ...field, isNull: e.target.checked })}
      />
      null
    </label>
  );
  return (
    <FieldEditor
      {...rest}
      field={field.inner}
      disabled={disabled || field.isNull}
      extras={
        <>
          {extras}
          {toNull}
        </>
      }
      onChange={(inner) => onChange({ ...field, inner, isNull: false })}
    />
  );
}
