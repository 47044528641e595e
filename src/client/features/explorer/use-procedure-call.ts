import { useRef, useState } from 'react';
import { useUntypedClient } from './untyped-client.ts';

export type CallState =
  | { status: 'idle' }
  | { status: 'pending' }
  | { status: 'answered'; value: unknown }
  | { status: 'failed'; error: unknown };

/** Calls a query or mutation by path, keeping the answer (or error) of the latest call only. */
export function useProcedureCall(path: string, type: 'query' | 'mutation') {
  const client = useUntypedClient();
  const [state, setState] = useState<CallState>({ status: 'idle' });
  const latest = useRef(0);

  const run = (input: unknown) => {
    const call = ++latest.current;
    setState({ status: 'pending' });
    const answer = type === 'query' ? client.query(path, input) : client.mutation(path, input);
    answer.then(
      (value) => {
        if (call === latest.current) setState({ status: 'answered', value });
      },
      (error: unknown) => {
        if (call === latest.current) setState({ status: 'failed', error });
      },
    );
  };
  return { state, run };
}
