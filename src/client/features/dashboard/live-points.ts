import { skipToken } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { errorCode } from '../../lib/errors.ts';
import { useReportStream } from '../../lib/live-stream.ts';
import { useLinkStates } from '../../pulse-provider.tsx';
import { trpc } from '../../trpc.ts';
import { PointsHub, streamSeries } from './points-hub.ts';

/**
 * Opens the page's one `metrics.onPoints` stream for `series` and feeds a hub with it. A new
 * set of series opens a new stream; each start reloads every widget's range.
 */
export function useLivePoints(series: readonly string[]): PointsHub {
  const [hub] = useState(() => new PointsHub());
  const utils = trpc.useUtils();
  const { streams } = useLinkStates();
  const watched = streamSeries(series);
  const sub = trpc.metrics.onPoints.useSubscription(
    watched.length > 0 ? { series: watched } : skipToken,
    {
      onStarted: () => {
        streams.everStarted.set(true);
        hub.started();
      },
      // Never read `sub.data`: that would re-render the page for every batch.
      onData: (batch) => hub.push(batch),
      onError: (error) => {
        if (errorCode(error) === 'UNAUTHORIZED') void utils.auth.me.invalidate();
      },
    },
  );
  const { status, error } = sub;
  useEffect(() => {
    if (status !== 'pending') hub.stopped();
  }, [hub, status]);
  useEffect(() => () => hub.dispose(), [hub]);
  useReportStream('metrics.onPoints', watched.length > 0 ? status : null, error);
  return hub;
}
