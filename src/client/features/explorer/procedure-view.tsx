import { useEffect, useRef } from 'react';
import type { ProcedureContract } from '../../../shared/api-contract.ts';
import type { User } from '../../../shared/schemas/auth.ts';
import { explorerPath } from '../shell/routes.ts';
import { CallErrorView, JsonView } from './call-outcome.tsx';
import { InputForm } from './input-form.tsx';
import { useProcedureCall } from './use-procedure-call.ts';
import { EVENTS_KEPT, useEventStream, type StreamStatus } from './use-event-stream.ts';

const WHO = {
  public: 'anyone, signed in or not',
  user: 'signed-in users',
  admin: 'admins',
} as const;

/**
 * One procedure: its documentation, its input form, and a live call. Mounted per procedure
 * (keyed by path), so a stream or an answer never outlives the procedure it belongs to.
 */
export function ProcedureView({ procedure, user }: { procedure: ProcedureContract; user: User }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Picking a procedure from the list takes keyboard and screen-reader users to it.
  useEffect(() => heading.current?.focus(), []);
  return (
    <article className="xp-procedure" aria-labelledby="xp-procedure-title">
      <header className="xp-procedure__head">
        <h2 id="xp-procedure-title" ref={heading} tabIndex={-1} data-testid="explorer-procedure">
          {procedure.path}
        </h2>
        <ProcedureFacts procedure={procedure} />
      </header>
      {procedure.deprecated && (
        <p className="xp-deprecated" data-testid="explorer-deprecated">
          <strong>Deprecated:</strong> {procedure.deprecated.reason}
          {procedure.deprecated.replacement && (
            <>
              {' '}
              Use{' '}
              <a href={explorerPath(procedure.deprecated.replacement)}>
                {procedure.deprecated.replacement}
              </a>{' '}
              instead.
            </>
          )}
        </p>
      )}
      {procedure.description && <p className="xp-description">{procedure.description}</p>}
      {procedure.access === 'admin' && user.role !== 'admin' && (
        <p className="muted small">
          For admins: signed in as a member, a call answers <code>FORBIDDEN</code>.
        </p>
      )}
      <SchemaDetails title="Input schema" schema={procedure.input} empty="No input." />
      <SchemaDetails
        title={procedure.type === 'subscription' ? 'Schema of each event' : 'Output schema'}
        schema={procedure.output}
        empty="Not described."
      />
      {procedure.type === 'subscription' ? (
        <StreamRunner procedure={procedure} />
      ) : (
        <CallRunner procedure={procedure} type={procedure.type} />
      )}
    </article>
  );
}

function ProcedureFacts({ procedure }: { procedure: ProcedureContract }) {
  return (
    <dl className="xp-facts">
      <dt>Type</dt>
      <dd>{procedure.type}</dd>
      <dt>Who may call it</dt>
      <dd data-testid="explorer-access">{WHO[procedure.access]}</dd>
      {procedure.scope && (
        <>
          <dt>Token scope</dt>
          <dd>{procedure.scope}</dd>
        </>
      )}
      {procedure.tracked !== undefined && (
        <>
          <dt>Resumable</dt>
          <dd>
            {procedure.tracked
              ? 'yes: events carry ids; resume after one with lastEventId'
              : 'no: a client refetches when it (re)starts'}
          </dd>
        </>
      )}
    </dl>
  );
}

function SchemaDetails({
  title,
  schema,
  empty,
}: {
  title: string;
  schema: ProcedureContract['input'];
  empty: string;
}) {
  return (
    <details className="xp-schema">
      <summary>{title}</summary>
      {schema ? <JsonView value={schema} /> : <p className="muted">{empty}</p>}
    </details>
  );
}

function CallRunner({
  procedure,
  type,
}: {
  procedure: ProcedureContract;
  type: 'query' | 'mutation';
}) {
  const { state, run } = useProcedureCall(procedure.path, type);
  return (
    <>
      <InputForm
        schema={procedure.input}
        submitLabel={type === 'query' ? 'Run query' : 'Send mutation'}
        onSubmit={run}
      />
      <section className="xp-outcome" aria-live="polite" aria-label="Answer">
        {state.status === 'pending' && <p className="muted">Calling…</p>}
        {state.status === 'answered' && <JsonView value={state.value} testId="explorer-result" />}
        {state.status === 'failed' && <CallErrorView error={state.error} />}
      </section>
    </>
  );
}

const STREAM_TEXT: Record<StreamStatus, string> = {
  idle: 'Not started.',
  starting: 'Starting…',
  live: 'Live: events appear here as they arrive.',
  stopped: 'Stopped.',
  ended: 'The server ended the stream.',
  failed: 'The stream failed.',
};

function StreamRunner({ procedure }: { procedure: ProcedureContract }) {
  const { state, start, stop } = useEventStream(procedure.path);
  const running = state.status === 'starting' || state.status === 'live';
  return (
    <>
      <InputForm
        schema={procedure.input}
        submitLabel={running ? 'Restart' : 'Start'}
        onSubmit={start}
      >
        <button type="button" className="ghost" disabled={!running} onClick={stop}>
          Stop
        </button>
      </InputForm>
      <section className="xp-outcome" aria-label="Events">
        <p
          className="muted"
          aria-live="polite"
          data-testid="explorer-stream"
          data-status={state.status}
        >
          {STREAM_TEXT[state.status]}{' '}
          {state.received > 0 &&
            (state.received > EVENTS_KEPT
              ? `${state.received} events; the latest ${EVENTS_KEPT} are kept.`
              : `${state.received} ${state.received === 1 ? 'event' : 'events'}.`)}
        </p>
        {state.status === 'failed' && <CallErrorView error={state.error} />}
        <ol className="xp-events">
          {state.events.map((event) => (
            <li key={event.seq} data-testid="explorer-event">
              <span className="muted small">
                #{event.seq} · {event.at.toLocaleTimeString()}
              </span>
              <JsonView value={event.value} />
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}
