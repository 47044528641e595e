import { useEffect, useRef, useSyncExternalStore } from 'react';
import { API_VERSION, compareVersions, parseVersion } from '../../../shared/version.ts';
import { useLinkStates } from '../../pulse-provider.tsx';
import type { StreamReport } from '../../transport/live-status.ts';
import { trpc } from '../../trpc.ts';

/** Every open stream is live again, as after the reconnects a server restart causes. */
const allLive = (reports: ReadonlyMap<string, StreamReport>) =>
  reports.size > 0 && [...reports.values()].every((report) => report.status === 'pending');

/**
 * The server's version when it is newer than the one this page was built from (`API_VERSION`,
 * bundled at build time): a deploy since the page loaded. Else null, also for a server that is
 * older (a rolling restart may still be reaching old instances).
 *
 * Asked when the shell mounts, whenever the page is shown again (React Query refetches on
 * visibility), and whenever the live streams are all live again after a break: a deploy restarts
 * the server, which ends every stream, so their reconnect is when a new version may be there.
 */
export function useNewerServer(): string | null {
  const utils = trpc.useUtils();
  const { streams } = useLinkStates();
  const health = trpc.system.health.useQuery(undefined, { refetchOnWindowFocus: 'always' });
  const live = useSyncExternalStore(streams.all.subscribe, () => allLive(streams.all.get()));
  const wasLive = useRef(false);
  useEffect(() => {
    if (live && wasLive.current) void utils.system.health.invalidate();
    if (live) wasLive.current = true;
  }, [live, utils]);

  const version = health.data?.version ?? null;
  const server = version === null ? null : parseVersion(version);
  const build = parseVersion(API_VERSION);
  return server && build && compareVersions(server, build) > 0 ? version : null;
}
