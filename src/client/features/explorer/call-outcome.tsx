import { errorCode, errorIssues } from '../../lib/errors.ts';

/** A value as pretty JSON (`undefined`, which JSON cannot hold, said in words). */
export function JsonView({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <pre className="xp-json" data-testid={testId}>
      {value === undefined ? '(no value)' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** An error from a call: its tRPC code, its message, and zod's issues with the input. */
export function CallErrorView({ error }: { error: unknown }) {
  const code = errorCode(error) ?? 'NO ANSWER';
  const issues = errorIssues(error);
  return (
    <div className="xp-error" role="alert" data-testid="explorer-error" data-code={code}>
      <p>
        <strong className="xp-error__code">{code}</strong>{' '}
        {/* The message spells the issues out again, in one line: the list below is clearer. */}
        {issues.length > 0
          ? 'Invalid input'
          : error instanceof Error
            ? error.message
            : String(error)}
      </p>
      {issues.length > 0 && (
        <ul className="xp-issues" aria-label="Problems with the input">
          {issues.map((issue, i) => (
            <li key={i}>
              <code>{issue.path.map(String).join('.') || '(input)'}</code> {issue.message}{' '}
              <span className="muted">({issue.code})</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
