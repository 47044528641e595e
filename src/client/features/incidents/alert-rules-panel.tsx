import { useState, type FormEvent } from 'react';
import {
  ChoiceField,
  SeverityField,
  TeamField,
  TextField,
  useFormCheck,
} from '../../components/form-fields.tsx';
import { ALERT_FOR_SECONDS_MAX, LIST_PAGE_DEFAULT } from '../../../shared/limits.ts';
import type { Severity } from '../../../shared/schemas/common.ts';
import { createRuleSchema } from '../../../shared/schemas/incidents.ts';
import { SeverityBadge } from '../../components/incident-card.tsx';
import { trpc } from '../../trpc.ts';
import { LoadMore } from '../../components/load-more.tsx';

/** The rules list: oldest first, a page at a time. */
const RULES_INPUT = { limit: LIST_PAGE_DEFAULT };

/** A number field's text as the schema sees it: empty is missing, not zero. */
const numberOrNaN = (text: string) => (text.trim() === '' ? Number.NaN : Number(text));

/**
 * The alert rules of the caller's teams: a rule opens an incident when its series has stayed
 * past the threshold for `forSeconds`. Validated with the same schema the server uses.
 */
export function AlertRulesPanel() {
  const utils = trpc.useUtils();
  const rules = trpc.alerts.listRules.useInfiniteQuery(RULES_INPUT, {
    getNextPageParam: (last) => (last.length < RULES_INPUT.limit ? undefined : last.at(-1)?.id),
    staleTime: 30_000,
  });
  const list = rules.data?.pages.flat();
  const teams = trpc.teams.list.useQuery(undefined, { staleTime: 60_000 });
  const series = trpc.metrics.list.useQuery(undefined, { staleTime: 30_000 });
  const remove = trpc.alerts.deleteRule.useMutation({
    onSettled: () => utils.alerts.listRules.invalidate(),
  });
  const teamName = (id: string) => teams.data?.find((t) => t.id === id)?.name ?? id;

  return (
    <section className="card rules" data-testid="alert-rules" aria-labelledby="rules-title">
      <header className="panel-header">
        <h2 id="rules-title">Alert rules</h2>
      </header>
      {rules.error && (
        <p className="error-text pad" role="alert">
          Could not load the rules: {rules.error.message}
        </p>
      )}
      {remove.error && (
        <p className="error-text pad" role="alert">
          Could not delete the rule: {remove.error.message}
        </p>
      )}
      {list && list.length === 0 && (
        <p className="muted pad">
          No rules yet. A rule opens an incident when a series stays past a threshold.
        </p>
      )}
      {list && list.length > 0 && (
        <ul className="rules__list">
          {list.map((rule) => (
            <li key={rule.id} className="rules__item" data-testid="alert-rule" data-id={rule.id}>
              <SeverityBadge severity={rule.severity} />
              <code>
                {rule.series} {rule.op} {rule.threshold}
              </code>
              <span className="muted small">
                for {rule.forSeconds}s · team {teamName(rule.teamId)}
              </span>
              <button
                type="button"
                className="link-button rules__delete"
                disabled={remove.isPending && remove.variables.id === rule.id}
                onClick={() => remove.mutate({ id: rule.id })}
                aria-label={`Delete rule ${rule.series} ${rule.op} ${rule.threshold}`}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <LoadMore pages={rules} testId="rules-more" />
      <NewRuleForm
        teams={teams.data ?? []}
        seriesNames={(series.data ?? []).map((s) => s.series).sort()}
      />
    </section>
  );
}

function NewRuleForm({
  teams,
  seriesNames,
}: {
  teams: { id: string; name: string }[];
  seriesNames: string[];
}) {
  const utils = trpc.useUtils();
  const [series, setSeries] = useState('');
  const [op, setOp] = useState<'>' | '<'>('>');
  const [threshold, setThreshold] = useState('');
  const [forSeconds, setForSeconds] = useState('60');
  const [severity, setSeverity] = useState<Severity>('warning');
  const [teamId, setTeamId] = useState('');
  const { problems, check } = useFormCheck(createRuleSchema);
  const create = trpc.alerts.createRule.useMutation({
    onSuccess: () => {
      setSeries('');
      setThreshold('');
    },
    onSettled: () => utils.alerts.listRules.invalidate(),
  });
  const team = teamId || teams[0]?.id || '';

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const rule = check(
      {
        series: series.trim(),
        op,
        threshold: numberOrNaN(threshold),
        forSeconds: numberOrNaN(forSeconds),
        severity,
        teamId: team,
      },
      {
        threshold: () => 'A number',
        forSeconds: () => `Whole seconds from 0 to ${ALERT_FOR_SECONDS_MAX}`,
        teamId: () => 'Pick a team',
      },
    );
    if (rule) create.mutate(rule);
  };

  return (
    <form className="rule-form" onSubmit={submit} aria-label="New alert rule" noValidate>
      <TextField
        label="Series"
        name="series"
        list="rule-series"
        value={series}
        onChange={setSeries}
        placeholder="api.latency_ms"
        error={problems.series}
      >
        <datalist id="rule-series">
          {seriesNames.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </TextField>
      <ChoiceField
        label="When"
        name="op"
        value={op}
        options={[
          { value: '>', label: 'above' },
          { value: '<', label: 'below' },
        ]}
        onChange={setOp}
      />
      <TextField
        label="Threshold"
        name="threshold"
        inputMode="decimal"
        value={threshold}
        onChange={setThreshold}
        error={problems.threshold}
      />
      <TextField
        label="For (s)"
        name="forSeconds"
        inputMode="numeric"
        value={forSeconds}
        onChange={setForSeconds}
        error={problems.forSeconds}
      />
      <SeverityField value={severity} onChange={setSeverity} />
      <TeamField value={team} teams={teams} onChange={setTeamId} error={problems.teamId} />
      <button type="submit" className="primary" disabled={create.isPending}>
        Add rule
      </button>
      {create.error && (
        <p className="error-text rule-form__error" role="alert">
          Could not add the rule: {create.error.message}
        </p>
      )}
    </form>
  );
}
