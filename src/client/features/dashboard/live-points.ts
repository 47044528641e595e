import { skipToken } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useLiveStream } from '../../lib/live-stream.ts';
import { trpc } from '../../trpc.ts';
import { PointsHub, streamSeries } from './points-hub.ts';

/**
 * Opens the page's one `metrics.onPoints` stream for `series` and feeds a hub with it. A new
 * set of series opens a new stream; each start reloads every widget's range.
 */
export function useLivePoints(series: readonly string[]): PointsHub {
  const [hub] = useState(() => new PointsHub());
  const watched = streamSeries(series);
  const { status } = useLiveStream(
    trpc.metrics.onPoints,
    watched.length > 0 ? { series: watched } : skipToken,
    {
      name: 'metrics.onPoints',
      onStarted: () => hub.started(),
      onData: (batch) => hub.push(batch),
    },
  );
  useEffect(() => {
    if (status !== 'pending') hub.stopped();
  }, [hub, status]);
  useEffect(() => () => hub.dispose(), [hub]);
  return hub;
}
