import { useState, type FormEvent } from 'react';
import { SeverityField, TeamField } from '../../components/form-fields.tsx';
import { z } from 'zod';
import { INCIDENT_TITLE_MAX } from '../../../shared/limits.ts';
import type { Severity } from '../../../shared/schemas/common.ts';
import { createIncidentSchema } from '../../../shared/schemas/incidents.ts';
import { trpc } from '../../trpc.ts';
import { mergeIntoIncidentList } from './use-live-incidents.ts';

type Field = keyof z.infer<typeof createIncidentSchema>;

/** Opens an incident by hand, for one of the caller's teams (any team, for admins). */
export function NewIncidentForm({ onDone }: { onDone: () => void }) {
  const utils = trpc.useUtils();
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 });
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState<Severity>('warning');
  const [teamId, setTeamId] = useState('');
  const [problems, setProblems] = useState<Partial<Record<Field, string>>>({});
  const create = trpc.incidents.create.useMutation({
    onSuccess: (incident) => {
      mergeIntoIncidentList(utils, incident);
      onDone();
    },
  });
  const team = teamId || teams.data?.[0]?.id || '';

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const parsed = createIncidentSchema.safeParse({ title, severity, teamId: team });
    if (!parsed.success) {
      const fields = z.flattenError(parsed.error).fieldErrors;
      setProblems({
        title: fields.title?.[0] && (title.trim() ? fields.title[0] : 'Give it a title'),
        severity: fields.severity?.[0],
        teamId: fields.teamId?.[0] && 'Pick a team',
      });
      return;
    }
    setProblems({});
    create.mutate(parsed.data);
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="New incident" noValidate>
      <label>
        Title
        <input
          name="title"
          value={title}
          maxLength={INCIDENT_TITLE_MAX}
          onChange={(e) => setTitle(e.target.value)}
          aria-invalid={problems.title ? true : undefined}
          autoFocus
        />
        {problems.title && <span className="field-error">{problems.title}</span>}
      </label>
      <SeverityField value={severity} onChange={setSeverity} />
      <TeamField
        value={team}
        teams={teams.data ?? []}
        onChange={setTeamId}
        error={problems.teamId}
      />
      {create.error && (
        <p className="error-text" role="alert">
          Could not open the incident: {create.error.message}
        </p>
      )}
      <div className="form__buttons">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Opening…' : 'Open incident'}
        </button>
        <button type="button" className="ghost" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
