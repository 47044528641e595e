/**
 * Runs `drain` when asked and `behind()` says there is something to read, one run at a time;
 * asks that arrive during a run make one more run after it (a run that found nothing new does
 * not repeat by itself, so rows that are not visible yet cannot spin it). A failing run is logged and retried after a
 * second rather than in a tight loop: the database is failing, and hammering it helps no one.
 */
export function createPump(opts: {
  drain: () => Promise<void>;
  behind: () => boolean;
  signal: AbortSignal;
  what: string;
}): { pump: () => void; running: () => boolean } {
  let running = false;
  let again = false;
  let retry: NodeJS.Timeout | null = null;

  function pump(): void {
    if (running) {
      again = true;
      return;
    }
    if (retry || opts.signal.aborted || !opts.behind()) return;
    running = true;
    again = false;
    opts.drain().then(
      () => {
        running = false;
        if (again) pump();
      },
      (error: unknown) => {
        running = false;
        // Stopped meanwhile: the database may be closing under the run, and nothing is wanted.
        if (opts.signal.aborted) return;
        console.error(`${opts.what} failed; retrying in 1 s`, error);
        retry = setTimeout(() => {
          retry = null;
          pump();
        }, 1000);
        retry.unref();
      },
    );
  }

  return { pump, running: () => running };
}
