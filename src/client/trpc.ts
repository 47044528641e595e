import { createTRPCReact } from '@trpc/react-query';
import type { AppRouter } from '../server/router.ts';

/**
 * The typed hooks for the whole API; the only `createTRPCReact` in the app. It holds no state:
 * the clients it talks through come from `<PulseProvider>` (pulse-provider.tsx).
 */
export const trpc = createTRPCReact<AppRouter>();
