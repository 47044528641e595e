import { TRPCClientError, type OperationResultEnvelope } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { z } from 'zod';

/**
 * What tabs say to each other over the BroadcastChannel of the shared subscriptions (see
 * shared-subscription-relay.ts), and how a tRPC link's results travel on it. Errors travel as
 * their shape: class instances do not survive cloning.
 */

/** A result as tRPC's links pass it on. */
export type Envelope<TRouter extends AnyRouter> = OperationResultEnvelope<
  unknown,
  TRPCClientError<TRouter>
>;
export type Result<TRouter extends AnyRouter> = Envelope<TRouter>['result'];

const wireErrorSchema = z.object({ message: z.string(), shape: z.unknown() });
const wireResultSchema = z.discriminatedUnion('type', [
  // `resumed`: a restart from the last event id (see start-context.ts).
  z.object({ type: z.literal('started'), resumed: z.boolean().optional() }),
  z.object({ type: z.literal('stopped') }),
  z.object({ type: z.literal('data'), id: z.string().optional(), data: z.unknown() }),
  z.object({
    type: z.literal('state'),
    state: z.enum(['idle', 'connecting', 'pending']),
    error: wireErrorSchema.nullable(),
  }),
]);
const relayMessageSchema = z.discriminatedUnion('kind', [
  // A tab to the leader.
  z.object({
    kind: z.literal('subscribe'),
    tabId: z.string(),
    subId: z.string(),
    path: z.string(),
    input: z.unknown(),
  }),
  z.object({ kind: z.literal('unsubscribe'), subId: z.string() }),
  // The leader to the tabs: `leader` asks every tab to announce its subscriptions again.
  z.object({ kind: z.literal('leader'), tabId: z.string() }),
  z.object({ kind: z.literal('next'), to: z.array(z.string()), result: wireResultSchema }),
  z.object({ kind: z.literal('error'), to: z.array(z.string()), error: wireErrorSchema }),
  z.object({ kind: z.literal('complete'), to: z.array(z.string()) }),
  // The leader's live stream as its indicator shows it, for every tab's header.
  z.object({
    kind: z.literal('status'),
    view: z.object({
      state: z.enum(['idle', 'connecting', 'connected', 'catching-up', 'reconnecting', 'offline']),
      detail: z.string(),
    }),
  }),
]);

export type WireError = z.infer<typeof wireErrorSchema>;
export type WireResult = z.infer<typeof wireResultSchema>;
export type RelayMessage = z.infer<typeof relayMessageSchema>;
/** A message for some subscriptions (by subId), from the tab that holds their stream. */
export type Delivery = Extract<RelayMessage, { to: string[] }>;

/** A message from the channel, or null when it is not one of ours (another version's, noise). */
export function parseRelayMessage(data: unknown): RelayMessage | null {
  const parsed = relayMessageSchema.safeParse(data);
  return parsed.success ? parsed.data : null;
}

export function toWireError(error: TRPCClientError<AnyRouter>): WireError {
  return { message: error.message, shape: error.shape ?? null };
}

export function fromWireError<TRouter extends AnyRouter>(
  error: WireError,
): TRPCClientError<TRouter> {
  return error.shape
    ? TRPCClientError.from<TRouter>({ error: error.shape })
    : new TRPCClientError<TRouter>(error.message);
}

export function toWire<TRouter extends AnyRouter>(
  result: Result<TRouter>,
  context?: Record<string, unknown>,
): WireResult {
  switch (result.type) {
    case 'state':
      return {
        type: 'state',
        state: result.state,
        error: result.error ? toWireError(result.error) : null,
      };
    case 'started':
      return context?.['resumed'] === true
        ? { type: 'started', resumed: true }
        : { type: 'started' };
    case 'stopped':
      return { type: result.type };
    case 'data':
    case undefined:
      return { type: 'data', id: result.id, data: result.data };
  }
}

/** The context a wire result's envelope carries: whether a start resumed. */
export function wireContext(result: WireResult): Record<string, unknown> | undefined {
  return result.type === 'started' && result.resumed ? { resumed: true } : undefined;
}

export function fromWire<TRouter extends AnyRouter>(result: WireResult): Result<TRouter> {
  switch (result.type) {
    case 'state':
      return result.state === 'connecting'
        ? {
            type: 'state',
            state: 'connecting',
            error: result.error ? fromWireError<TRouter>(result.error) : null,
          }
        : { type: 'state', state: result.state, error: null };
    case 'started':
    case 'stopped':
      return { type: result.type };
    case 'data':
      return result.id === undefined ? { data: result.data } : { id: result.id, data: result.data };
  }
}
