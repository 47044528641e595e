import type { Env } from '../../env.ts';
import type { AuthActions } from './actions.ts';

const SWEEP_PAGE = 500;

/**
 * Ends sessions past their absolute lifetime (`PULSE_SESSION_MAX_S`) or idle for
 * `PULSE_SESSION_IDLE_S`: deletes them and announces each, so the streams and sockets they opened
 * close. Runs every 30 s, or more often when sessions end sooner.
 */
export function startSessionSweeper(
  deps: { actions: AuthActions; env: Pick<Env, 'PULSE_SESSION_IDLE_S' | 'PULSE_SESSION_MAX_S'> },
  signal: AbortSignal,
  afterSweep: () => void,
): void {
  const { actions, env } = deps;
  const shortest = Math.min(env.PULSE_SESSION_IDLE_S, env.PULSE_SESSION_MAX_S) * 1000;
  const everyMs = Math.max(250, Math.min(30_000, shortest / 4));
  let running = false;

  async function sweep(): Promise<void> {
    const idleSince = new Date(Date.now() - env.PULSE_SESSION_IDLE_S * 1000).toISOString();
    for (;;) {
      const ended = await actions.endExpiredSessions(idleSince, SWEEP_PAGE);
      if (ended < SWEEP_PAGE || signal.aborted) break;
    }
    afterSweep();
  }

  const timer = setInterval(() => {
    if (running || signal.aborted) return;
    running = true;
    sweep()
      .catch((error: unknown) => {
        if (!signal.aborted) console.error('Session sweep failed', error);
      })
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
