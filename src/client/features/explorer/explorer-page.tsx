import { use } from 'react';
import type { User } from '../../../shared/schemas/auth.ts';
import { loadContract } from './contract.ts';
import { ProcedureList } from './procedure-list.tsx';
import { ProcedureView } from './procedure-view.tsx';
import './explorer.css';

/**
 * The API explorer: every procedure of the contract with its documentation, a form for its
 * input and a live call made as the signed-in user. Loaded on demand (the shell imports it
 * lazily), with the contract in a chunk of its own.
 */
export function ExplorerPage({ user, procedure }: { user: User; procedure: string | null }) {
  const contract = use(loadContract());
  const selected = contract.procedures.find((p) => p.path === procedure);
  return (
    <div className="xp" data-testid="explorer">
      <header className="page-header">
        <h1>API explorer</h1>
        <span className="muted small">
          API {contract.apiVersion} · calls run as {user.username}; the server decides what they may
          do
        </span>
      </header>
      <div className="xp-layout">
        <ProcedureList procedures={contract.procedures} selected={procedure} />
        <section className="card xp-detail" aria-label="Procedure">
          {selected ? (
            <ProcedureView key={selected.path} procedure={selected} user={user} />
          ) : (
            <p className="pad muted">
              {procedure === null
                ? 'Pick a procedure to read about it and call it.'
                : `No procedure named ${procedure}.`}
            </p>
          )}
        </section>
      </div>
    </div>
  );
}
