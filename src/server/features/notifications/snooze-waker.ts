import { z } from 'zod';
import { inboxChangeKindSchema } from '../../../shared/schemas/notifications.ts';
import { consume, type EventBus } from '../../platform/bus.ts';
import { createPump } from '../../platform/pump.ts';
import type { NotificationActions } from './actions.ts';
import type { InboxStore } from './inbox-store.ts';

/** What the waker reads of a carried inbox change. */
const snoozeTimesSchema = z.object({
  change: z.object({
    kind: inboxChangeKindSchema,
    notifications: z.array(z.object({ snoozedUntil: z.string().nullable() })),
  }),
});

/** Longest a timer is set for; a later wake is re-checked then (timers hold at most ~24.8 days). */
const MAX_DELAY_MS = 60 * 60 * 1000;

/**
 * Wakes snoozed notifications when they are due: one timer per instance, armed for the soonest
 * snooze and re-armed whenever a snooze is set on any instance (heard through the inbox log's
 * announcements) and after each run. At start it wakes what fell due while no instance ran.
 * Instances race for the same snoozes; the waking UPDATE decides, so each wakes once.
 */
export function startSnoozeWaker(
  deps: { inbox: InboxStore; actions: NotificationActions; bus: EventBus },
  signal: AbortSignal,
): { wakeNow(): void } {
  const { inbox, actions, bus } = deps;
  let timer: NodeJS.Timeout | null = null;
  let armedFor = Infinity;

  function disarm(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    armedFor = Infinity;
  }

  /** Sets the timer for `at` (ms), unless it is set for sooner already. */
  function arm(at: number): void {
    if (signal.aborted || (timer && armedFor <= at)) return;
    disarm();
    armedFor = at;
    timer = setTimeout(
      () => {
        timer = null;
        armedFor = Infinity;
        pump();
      },
      Math.min(Math.max(at - Date.now(), 0), MAX_DELAY_MS),
    );
    timer.unref();
  }

  async function rearm(): Promise<void> {
    const next = await inbox.nextWake();
    if (next !== null) arm(Date.parse(next));
  }

  const { pump } = createPump({
    async drain() {
      await actions.wakeDue();
      await rearm();
    },
    behind: () => true,
    signal,
    what: 'snooze waker',
  });

  const rearmLater = () =>
    void rearm().catch((error: unknown) => {
      if (!signal.aborted) console.error('snooze waker could not read the next snooze', error);
    });

  consume({
    subscribe: () => bus.subscribe('notifications.inbox', signal),
    signal,
    what: 'snooze waker',
    handle({ row }) {
      // Only the kind and the snooze times matter here; the inbox feed checks the whole row.
      const change = snoozeTimesSchema.safeParse(row);
      if (!change.success) return rearmLater();
      if (change.data.change.kind !== 'snoozed') return;
      for (const { snoozedUntil } of change.data.change.notifications) {
        const at = snoozedUntil === null ? NaN : Date.parse(snoozedUntil);
        if (Number.isFinite(at)) arm(at);
      }
    },
    resumed: rearmLater,
  });
  signal.addEventListener('abort', disarm, { once: true });
  pump();

  return { wakeNow: pump };
}
