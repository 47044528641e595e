import { z } from 'zod';

/**
 * The multiplexed live stream (`POST /trpc-live`, decision 0021): many subscriptions of one
 * client on one Server-Sent Events response, each named by a key the client chooses, each
 * added and removed by short requests (`POST /trpc-live/<stream>`) and each resumed from its own
 * last event id. The subscriptions are the router's own procedures, run as over their own SSE
 * endpoints; this is only how they share a connection.
 */

/** A subscription's name on its stream: the client's choice, unique among the stream's open ones. */
export const liveKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'A key is 1 to 64 of A-Z a-z 0-9 _ . : -');

/** One subscription to run on the stream: a subscription procedure and its input. */
export const liveSubscriptionSchema = z.strictObject({
  key: liveKeySchema,
  /** The procedure's dotted path, e.g. `notifications.onNotification`. */
  path: z
    .string()
    .regex(/^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/, 'Not a procedure path')
    .max(200),
  /** Its input, validated by the procedure itself. */
  input: z.unknown().optional(),
  /** Where a tracked subscription resumes: merged into the input as tRPC merges `lastEventId`. */
  lastEventId: z.string().min(1).max(200).optional(),
});
export type LiveSubscription = z.infer<typeof liveSubscriptionSchema>;

/** The body that opens a stream: the subscriptions it starts with (a reconnect sends them all). */
export const liveOpenSchema = z.strictObject({
  subscriptions: z.array(liveSubscriptionSchema).max(1000),
});
export type LiveOpen = z.infer<typeof liveOpenSchema>;

/** The body of a control request: removals first, then additions, all or nothing. */
export const liveControlSchema = z
  .strictObject({
    subscribe: z.array(liveSubscriptionSchema).max(1000).optional(),
    unsubscribe: z.array(liveKeySchema).max(1000).optional(),
  })
  .refine((c) => (c.subscribe?.length ?? 0) + (c.unsubscribe?.length ?? 0) > 0, {
    message: 'Nothing to subscribe or unsubscribe',
  });
export type LiveControl = z.infer<typeof liveControlSchema>;

/** The stream's first event (`event: connected`). */
export const liveConnectedSchema = z.object({
  /** The stream's id, for its control requests; only its owner's credential may use it. */
  stream: z.string(),
  /** The client reconnects when nothing (not even a ping) arrived for this long. */
  reconnectAfterInactivityMs: z.number(),
});
export type LiveConnected = z.infer<typeof liveConnectedSchema>;

/** `data:` of an event a subscription yielded (SSE's default event type). */
export const liveDataSchema = z.object({
  key: z.string(),
  /** The `tracked()` id, to resume from; absent for untracked values. */
  id: z.string().optional(),
  data: z.unknown(),
});

/** `data:` of `event: started`, `event: live` and `event: stopped`. */
export const liveKeyEventSchema = z.object({ key: z.string() });

/** `data:` of `event: error`: the subscription ended with this error (tRPC's error shape). */
export const liveKeyErrorSchema = z.object({ key: z.string(), error: z.unknown() });
