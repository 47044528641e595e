import { router } from '../trpc.ts';
import { authRouter } from './auth.ts';
import { notificationsRouter } from './notifications.ts';
import { systemRouter } from './system.ts';
import { teamsRouter, usersRouter } from './users.ts';

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  teams: teamsRouter,
  notifications: notificationsRouter,
  system: systemRouter,
});

/** The whole API's type: all a client imports from the server. */
export type AppRouter = typeof appRouter;
