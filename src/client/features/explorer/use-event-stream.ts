import { useCallback, useEffect, useRef, useState } from 'react';
import { useUntypedClient } from './untyped-client.ts';

/** How many events a stream keeps on screen: a busy stream must not grow the page forever. */
export const EVENTS_KEPT = 200;

export interface StreamEvent {
  /** Its number in the stream, from 1. */
  seq: number;
  at: Date;
  value: unknown;
}

export type StreamStatus = 'idle' | 'starting' | 'live' | 'stopped' | 'ended' | 'failed';

export interface StreamState {
  status: StreamStatus;
  error: unknown;
  /** The latest `EVENTS_KEPT` events, newest first. */
  events: StreamEvent[];
  /** Every event since the stream started, kept or not. */
  received: number;
}

const IDLE: StreamState = { status: 'idle', error: null, events: [], received: 0 };

/**
 * Subscribes to a subscription by path, on demand. One stream at a time: starting again ends
 * the last one, and leaving the page (unmounting) ends it too.
 */
export function useEventStream(path: string) {
  const client = useUntypedClient();
  const [state, setState] = useState<StreamState>(IDLE);
  const running = useRef<{ unsubscribe(): void } | null>(null);
  /** Which stream is current: what an ended one still reports is dropped. */
  const generation = useRef(0);

  const end = useCallback(() => {
    generation.current += 1;
    running.current?.unsubscribe();
    running.current = null;
  }, []);
  useEffect(() => end, [end]);

  const start = (input: unknown) => {
    end();
    const mine = generation.current;
    const current = () => mine === generation.current;
    let seq = 0;
    setState({ ...IDLE, status: 'starting' });
    running.current = client.subscription(path, input, {
      onStarted: () => {
        if (current()) setState((s) => ({ ...s, status: 'live' }));
      },
      onData: (value) => {
        if (!current()) return;
        seq += 1;
        const event: StreamEvent = { seq, at: new Date(), value };
        setState((s) => ({
          ...s,
          events: [event, ...s.events.slice(0, EVENTS_KEPT - 1)],
          received: s.received + 1,
        }));
      },
      onError: (error) => {
        if (current()) setState((s) => ({ ...s, status: 'failed', error }));
      },
      onComplete: () => {
        if (current()) setState((s) => ({ ...s, status: 'ended' }));
      },
    });
  };

  const stop = () => {
    end();
    setState((s) => ({ ...s, status: 'stopped' }));
  };

  return { state, start, stop };
}
