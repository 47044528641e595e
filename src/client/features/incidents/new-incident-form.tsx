import { useState, type FormEvent } from 'react';
import {
  SeverityField,
  TeamField,
  TextField,
  useFormCheck,
} from '../../components/form-fields.tsx';
import { INCIDENT_TITLE_MAX } from '../../../shared/limits.ts';
import type { Severity } from '../../../shared/schemas/common.ts';
import { createIncidentSchema } from '../../../shared/schemas/incidents.ts';
import { trpc } from '../../trpc.ts';
import { mergeIntoIncidentList } from './use-live-incidents.ts';

/** Opens an incident by hand, for one of the caller's teams (any team, for admins). */
export function NewIncidentForm({ onDone }: { onDone: () => void }) {
  const utils = trpc.useUtils();
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 });
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState<Severity>('warning');
  const [teamId, setTeamId] = useState('');
  const { problems, check } = useFormCheck(createIncidentSchema);
  const create = trpc.incidents.create.useMutation({
    onSuccess: (incident) => {
      mergeIntoIncidentList(utils, incident);
      onDone();
    },
  });
  const team = teamId || teams.data?.[0]?.id || '';

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const incident = check(
      { title, severity, teamId: team },
      {
        title: (message) => (title.trim() ? message : 'Give it a title'),
        teamId: () => 'Pick a team',
      },
    );
    if (incident) create.mutate(incident);
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="New incident" noValidate>
      <TextField
        label="Title"
        name="title"
        value={title}
        maxLength={INCIDENT_TITLE_MAX}
        onChange={setTitle}
        error={problems.title}
        autoFocus
      />
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
