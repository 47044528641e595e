import { useEffect } from 'react';
import { useLinkStates } from '../pulse-provider.tsx';
import type { StreamStatus } from '../transport/live-status.ts';

/**
 * Reports a stream's status to the header's SSE indicator for as long as the calling
 * component is mounted; `null` while the stream is not wanted (nothing to follow).
 */
export function useReportStream(
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
