import { getUntypedClient, type TRPCUntypedClient } from '@trpc/client';
import type { AppRouter } from '../../../server/router.ts';
import { trpc } from '../../trpc.ts';

/**
 * The page's own tRPC client, called by path: the explorer names procedures at run time, from
 * the contract, so it cannot use the typed hooks. It is the same client with the same links as
 * the rest of the app (batched HTTP, the shared SSE streams, chat over the WebSocket), so every
 * call goes out with the signed-in user's session and the page's Origin, and the server alone
 * decides what it may do. Inputs go out and results come back as `unknown`.
 */
export function useUntypedClient(): TRPCUntypedClient<AppRouter> {
  return getUntypedClient(trpc.useUtils().client);
}
