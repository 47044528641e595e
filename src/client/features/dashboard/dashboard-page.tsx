import { useState, type FormEvent } from 'react';
import {
  timeRangeSchema,
  type DashboardLayout,
  type TimeRange,
} from '../../../shared/schemas/metrics.ts';
import { useLivePoints } from './live-points.ts';
import { MetricChart } from './metric-chart.tsx';
import { MetricTile } from './metric-tile.tsx';
import { layoutProblem, layoutSeries, useLayout, useSaveLayout } from './use-layout.ts';
import { trpc } from '../../trpc.ts';
import { ChoiceField } from '../../components/form-fields.tsx';
import './dashboard.css';

/** Keys that stay put when other charts come and go (a layout may show a series twice). */
function chartKeys(layout: DashboardLayout): string[] {
  const seen = new Map<string, number>();
  return layout.charts.map((c) => {
    const n = seen.get(c.series) ?? 0;
    seen.set(c.series, n + 1);
    return `${c.series}#${n}`;
  });
}

export function DashboardPage() {
  const layout = useLayout();
  const save = useSaveLayout();
  const [problem, setProblem] = useState<string | null>(null);
  const current = layout.data;
  // One stream for every series on the page.
  const hub = useLivePoints(current ? layoutSeries(current) : []);

  const change = (next: DashboardLayout) => {
    const why = layoutProblem(next);
    setProblem(why);
    if (!why) save.mutate(next);
  };

  return (
    <div className="dashboard" data-testid="dashboard">
      <header className="page-header">
        <h1>Dashboard</h1>
        {save.isPending && <span className="muted small">Saving…</span>}
      </header>
      {layout.error && (
        <p className="error-text" role="alert">
          Could not load the layout: {layout.error.message}
        </p>
      )}
      {(problem ?? save.error) && (
        <p className="error-text" role="alert" data-testid="layout-error">
          {problem ?? `Could not save the layout: ${save.error?.message ?? ''}`}
        </p>
      )}
      {layout.isPending && <p className="muted">Loading…</p>}
      {current && (
        <>
          <AddWidgetForm layout={current} onAdd={change} />
          {current.tiles.length === 0 && current.charts.length === 0 && (
            <p className="muted" data-testid="dashboard-empty">
              Nothing on this dashboard yet: add a tile or a chart above.
            </p>
          )}
          <ul className="tiles" aria-label="Tiles">
            {[...new Set(current.tiles)].map((series) => (
              <MetricTile
                key={series}
                series={series}
                hub={hub}
                onRemove={() =>
                  change({ ...current, tiles: current.tiles.filter((s) => s !== series) })
                }
              />
            ))}
          </ul>
          <div className="charts">
            {current.charts.map((chart, i) => (
              <MetricChart
                key={chartKeys(current)[i]}
                series={chart.series}
                range={chart.range}
                hub={hub}
                onRangeChange={(range) =>
                  change({
                    ...current,
                    charts: current.charts.map((c, j) => (j === i ? { ...c, range } : c)),
                  })
                }
                onRemove={() =>
                  change({ ...current, charts: current.charts.filter((_, j) => j !== i) })
                }
              />
            ))}
          </div>
        </>
      )}
    </div>
  );
}

type WidgetKind = 'tile' | 'chart';

/** Adds a tile or a chart for a series the server knows (`metrics.list`). */
function AddWidgetForm({
  layout,
  onAdd,
}: {
  layout: DashboardLayout;
  onAdd: (next: DashboardLayout) => void;
}) {
  const known = trpc.metrics.list.useQuery(undefined, { staleTime: 10_000 });
  const [kind, setKind] = useState<WidgetKind>('chart');
  const [series, setSeries] = useState('');
  const [range, setRange] = useState<TimeRange>('5m');

  const shown = new Set(kind === 'tile' ? layout.tiles : layout.charts.map((c) => c.series));
  const options = (known.data ?? [])
    .map((s) => s.series)
    .filter((s) => !shown.has(s))
    .sort();
  const chosen = options.includes(series) ? series : (options[0] ?? '');

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!chosen) return;
    onAdd(
      kind === 'tile'
        ? { ...layout, tiles: [...layout.tiles, chosen] }
        : { ...layout, charts: [...layout.charts, { series: chosen, range }] },
    );
  };

  return (
    <form className="toolbar" onSubmit={submit} aria-label="Add to the dashboard">
      <ChoiceField
        label="Add"
        name="kind"
        value={kind}
        options={[
          { value: 'chart', label: 'a chart' },
          { value: 'tile', label: 'a tile' },
        ]}
        onChange={setKind}
      />
      <label className="field">
        of
        <select
          name="series"
          value={chosen}
          disabled={options.length === 0}
          onChange={(e) => setSeries(e.target.value)}
          onFocus={() => void known.refetch()}
        >
          {options.length === 0 && (
            <option value="">{known.isPending ? 'Loading…' : 'no other series'}</option>
          )}
          {options.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      {kind === 'chart' && (
        <ChoiceField
          label="over"
          name="range"
          value={range}
          options={timeRangeSchema.options}
          onChange={setRange}
        />
      )}
      <button type="submit" className="primary" disabled={!chosen}>
        Add
      </button>
    </form>
  );
}
