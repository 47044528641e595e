import { useId, useState } from 'react';
import type { ProcedureContract } from '../../../shared/api-contract.ts';
import { explorerPath } from '../shell/routes.ts';

const namespaceOf = (path: string) => path.slice(0, path.indexOf('.')) || path;

/** The procedures whose path or description holds `filter`, grouped by namespace. */
function groupsOf(procedures: readonly ProcedureContract[], filter: string) {
  const wanted = filter.trim().toLowerCase();
  const groups = new Map<string, ProcedureContract[]>();
  for (const procedure of procedures) {
    const text = `${procedure.path} ${procedure.description ?? ''}`.toLowerCase();
    if (!text.includes(wanted)) continue;
    const namespace = namespaceOf(procedure.path);
    groups.set(namespace, [...(groups.get(namespace) ?? []), procedure]);
  }
  return [...groups];
}

/** Every procedure of the contract as a link, filterable, with its type and who may call it. */
export function ProcedureList({
  procedures,
  selected,
}: {
  procedures: readonly ProcedureContract[];
  selected: string | null;
}) {
  const [filter, setFilter] = useState('');
  const filterId = useId();
  const groups = groupsOf(procedures, filter);
  return (
    <nav className="xp-list card" aria-label="Procedures">
      <div className="xf-field xp-list__filter">
        <label htmlFor={filterId}>Find a procedure</label>
        <input
          id={filterId}
          type="search"
          value={filter}
          placeholder="name or words"
          onChange={(e) => setFilter(e.target.value)}
        />
      </div>
      {groups.length === 0 && <p className="pad muted">No procedure matches.</p>}
      {groups.map(([namespace, members]) => (
        <section key={namespace} className="xp-list__group" aria-label={namespace}>
          <h2 className="xp-list__namespace">{namespace}</h2>
          <ul>
            {members.map((procedure) => (
              <li key={procedure.path}>
                <a
                  href={explorerPath(procedure.path)}
                  className="xp-list__link"
                  data-testid="explorer-link"
                  data-path={procedure.path}
                  aria-current={procedure.path === selected ? 'page' : undefined}
                >
                  <span className={procedure.deprecated ? 'xp-list__name--deprecated' : undefined}>
                    {procedure.path.slice(namespace.length + 1) || procedure.path}
                  </span>
                  <span className={`xp-tag xp-tag--${procedure.type}`}>{procedure.type}</span>
                  {procedure.access === 'admin' && <span className="xp-tag">admin</span>}
                  {procedure.deprecated && <span className="xp-tag">deprecated</span>}
                </a>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </nav>
  );
}
