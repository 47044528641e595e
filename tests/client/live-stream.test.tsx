// @vitest-environment happy-dom
import { cleanup, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinkStatus } from '../../src/client/features/shell/link-status.tsx';
import { useLiveStream } from '../../src/client/lib/live-stream.ts';
import { trpc } from '../../src/client/trpc.ts';
import type { User } from '../../src/shared/schemas/auth.ts';
import { serverError } from '../support/fake-link.ts';
import { renderWithClients } from '../support/react.tsx';

const alice: User = {
  id: 'usr_alice',
  username: 'alice',
  displayName: 'Alice Martin',
  role: 'member',
  teamIds: ['team_ops'],
};

interface StreamProps {
  onStarted: () => void;
  onResumeRefused: () => void;
}

/** The stream opens once we know who we are, as in the app shell. */
function Stream(props: StreamProps) {
  const me = trpc.auth.me.useQuery();
  return me.data ? <Live {...props} /> : null;
}

function Live(props: StreamProps) {
  const stream = useLiveStream(trpc.incidents.onChange, undefined, {
    name: 'incidents.onChange',
    onData: () => undefined,
    ...props,
  });
  return <p data-testid="status">{stream.status}</p>;
}

afterEach(cleanup);

describe('useLiveStream', () => {
  it('refetches on every start, and starts afresh when the server cannot resume', async () => {
    const onStarted = vi.fn();
    const onResumeRefused = vi.fn();
    let opened = 0;
    renderWithClients(
      <>
        <LinkStatus />
        <Stream onStarted={onStarted} onResumeRefused={onResumeRefused} />
      </>,
      {
        'auth.me': () => alice,
        'incidents.onChange': (_op, stream) => {
          opened++;
          stream.next({ result: { type: 'started' } });
          if (opened === 1) {
            stream.error(serverError('PRECONDITION_FAILED', "Cannot resume from 'x'"));
          }
          return () => undefined;
        },
      },
    );
    await waitFor(() => expect(opened).toBe(2));
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('pending'));
    expect(onResumeRefused).toHaveBeenCalledTimes(1);
    expect(onStarted).toHaveBeenCalledTimes(2);
    // The header's SSE indicator speaks for the stream.
    expect(screen.getByTestId('link-sse').dataset['state']).toBe('connected');
  });

  it('asks who we are when the stream says the session ended', async () => {
    let asked = 0;
    renderWithClients(<Stream onStarted={() => undefined} onResumeRefused={() => undefined} />, {
      'auth.me': () => {
        asked++;
        return alice;
      },
      'incidents.onChange': (_op, stream) => {
        stream.error(serverError('UNAUTHORIZED', 'Sign in first'));
        return () => undefined;
      },
    });
    await waitFor(() => expect(asked).toBe(2));
    expect(screen.getByTestId('status').textContent).toBe('error');
  });
});
