import { createExternalStore, type ExternalStore } from '../lib/external-store.ts';
import { backoffDelayMs } from './backoff.ts';

/** Whether the server answers: `unavailable` is an answer that it cannot serve (503). */
export type HttpHealthState = 'ok' | 'unreachable' | 'unavailable';

export interface HttpHealthView {
  state: HttpHealthState;
  /** A sentence for the indicator's explanation. */
  detail: string;
}

export interface HttpHealth {
  view: ExternalStore<HttpHealthView>;
  /** A query or mutation got an answer (errors included: the server answered), or none at all. */
  observe(answered: boolean): void;
  /** Something hints at trouble (a stream or socket cut, the network back): ask the server now. */
  check(): void;
}

export interface HttpHealthOptions {
  /** `/healthz`: cheap, unauthenticated, 503 while the server drains or its database is down. */
  url: string;
  fetch?: typeof fetch;
  /** How long a probe may take before it counts as no answer. */
  timeoutMs?: number;
}

/** Quiet periods after which an idle tab asks once more: growing while all is well. */
const IDLE_PROBES_MS = [30_000, 60_000, 120_000, 300_000];

const seconds = (ms: number) => Math.max(1, Math.round(ms / 1000));

/**
 * The HTTP link's health, from what really happens: the outcome of every query and mutation, and
 * where none run (an idle page), a probe of `/healthz`: at once when a stream or socket is cut,
 * then with backoff until the server answers; while all is well, now and then, less and less
 * often. Without it the header would go on saying "connected" while the server is down, because
 * an idle page sends nothing that could fail.
 */
export function createHttpHealth(opts: HttpHealthOptions): HttpHealth {
  const fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const view = createExternalStore<HttpHealthView>({
    state: 'ok',
    detail: 'the server answers queries and mutations',
  });
  let failures = 0;
  let idleStep = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let probing = false;

  function set(state: HttpHealthState, nextInMs: number | null) {
    const next = nextInMs === null ? '' : `; checking again in ${seconds(nextInMs)} s`;
    const detail =
      state === 'ok'
        ? 'the server answers queries and mutations'
        : state === 'unreachable'
          ? `the server does not answer (the network is down, or the server is restarting)${next}`
          : `the server answers but cannot serve now (shutting down, or its database is down)${next}`;
    const current = view.get();
    if (current.state !== state || current.detail !== detail) view.set({ state, detail });
  }

  function schedule(ms: number) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void probe();
    }, ms);
  }

  function healthy() {
    failures = 0;
    set('ok', null);
    schedule(IDLE_PROBES_MS[Math.min(idleStep++, IDLE_PROBES_MS.length - 1)] ?? 300_000);
  }

  function unhealthy(state: Exclude<HttpHealthState, 'ok'>) {
    idleStep = 0;
    const delay = backoffDelayMs(++failures);
    set(state, delay);
    schedule(delay);
  }

  async function probe() {
    if (probing) return;
    // A hidden tab waits until it is shown (visibilitychange checks then).
    if (typeof document !== 'undefined' && document.visibilityState === 'hidden') return;
    probing = true;
    try {
      const response = await fetchImpl(opts.url, {
        cache: 'no-store',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status === 503) unhealthy('unavailable');
      else healthy();
    } catch {
      unhealthy('unreachable');
    } finally {
      probing = false;
    }
  }

  if (typeof window !== 'undefined') {
    window.addEventListener('online', () => void probe());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      if (view.get().state !== 'ok') void probe();
      else if (timer === null) schedule(IDLE_PROBES_MS[0] ?? 30_000);
    });
  }
  schedule(IDLE_PROBES_MS[0] ?? 30_000);

  return {
    view,
    observe(answered) {
      if (answered) {
        idleStep = 0;
        healthy();
      } else if (view.get().state === 'ok') {
        void probe();
      }
    },
    check() {
      void probe();
    },
  };
}
