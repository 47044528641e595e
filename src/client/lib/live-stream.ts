import { skipToken, type SkipToken } from '@tanstack/react-query';
import type { TRPCSubscriptionResult, UseTRPCSubscriptionOptions } from '@trpc/react-query/shared';
import { useEffect, useRef } from 'react';
import { useLinkStates } from '../pulse-provider.tsx';
import type { StreamStatus } from '../transport/live-status.ts';
import { startWasResumed } from '../transport/start-context.ts';
import { trpc } from '../trpc.ts';
import { errorCode } from './errors.ts';

/** A subscription procedure of the typed hooks (`trpc.notifications.onNotification`, …). */
interface SubscriptionProcedure<TInput, TData, TError> {
  useSubscription(
    input: TInput | SkipToken,
    opts?: Omit<UseTRPCSubscriptionOptions<TData, TError>, 'enabled'>,
  ): TRPCSubscriptionResult<TData, TError>;
}

export interface LiveStreamOptions<TData> {
  /** Names the stream for the header's SSE indicator. */
  name: string;
  /** Whether the SSE indicator speaks for this stream (not while it runs over the WebSocket). */
  reported?: boolean;
  onData: (data: TData) => void;
  /**
   * The stream (re)started: fetch what it keeps current, so whatever happened while it was
   * down is fetched, not missed. Not called for a restart that resumed from the last event id:
   * its replay brings what was missed (a reconnect, a tab back from a freeze).
   */
  onStarted: () => void;
  /**
   * The server cannot resume from the last event id (`PRECONDITION_FAILED`): refetch; the
   * stream then starts afresh. By default, what `onStarted` does.
   */
  onResumeRefused?: () => void;
}

/**
 * What every live stream of the app does around its feature's logic: refetch on each (re)start
 * that did not resume from the last event id,
 * ask who we are on `UNAUTHORIZED` (which shows the sign-in page when the session ended),
 * refetch and subscribe afresh when the server cannot resume, and report its state to the
 * header. Never reads the subscription's `data`: a stream of many events would re-render the
 * caller for each.
 */
export function useLiveStream<TInput, TData, TError extends { message: string }>(
  procedure: SubscriptionProcedure<TInput, TData, TError>,
  input: TInput | SkipToken,
  opts: LiveStreamOptions<TData>,
): TRPCSubscriptionResult<TData, TError> {
  const utils = trpc.useUtils();
  const { streams } = useLinkStates();
  const reported = (opts.reported ?? true) && input !== skipToken;
  const latest = useRef(opts);
  useEffect(() => {
    latest.current = opts;
  });

  const subscription = procedure.useSubscription(input, {
    onStarted: () => {
      if (reported) streams.everStarted.set(true);
      if (!startWasResumed()) opts.onStarted();
    },
    onData: opts.onData,
    onError: (error) => {
      if (errorCode(error) === 'UNAUTHORIZED') void utils.auth.me.invalidate();
    },
  });

  // Done here, not in onError, which runs before the hook records the error.
  const { status, error, reset } = subscription;
  useEffect(() => {
    if (status === 'error' && errorCode(error) === 'PRECONDITION_FAILED') {
      const { onResumeRefused, onStarted } = latest.current;
      (onResumeRefused ?? onStarted)();
      reset();
    }
  }, [status, error, reset]);
  useReportStream(opts.name, reported ? status : null, error);
  return subscription;
}

/**
 * Reports a stream's status to the header's SSE indicator for as long as the calling
 * component is mounted; `null` while the stream is not wanted (nothing to follow).
 */
function useReportStream(
  name: string,
  status: StreamStatus | null,
  error: { message: string } | null,
): void {
  const { streams } = useLinkStates();
  const message = error?.message ?? null;
  useEffect(() => {
    streams.report(name, status === null ? null : { status, error: message });
  }, [streams, name, status, message]);
  useEffect(() => () => streams.report(name, null), [streams, name]);
}
