import { router } from './platform/trpc.ts';
import { authRouter } from './features/auth/router.ts';
import { chatRouter } from './features/chat/router.ts';
import { dashboardRouter } from './features/metrics/dashboard-router.ts';
import { alertsRouter, incidentsRouter } from './features/incidents/router.ts';
import { metricsRouter } from './features/metrics/router.ts';
import { notificationsRouter } from './features/notifications/router.ts';
import { systemRouter } from './features/system/router.ts';
import { teamsRouter, usersRouter } from './features/users/router.ts';

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  teams: teamsRouter,
  notifications: notificationsRouter,
  metrics: metricsRouter,
  dashboard: dashboardRouter,
  alerts: alertsRouter,
  incidents: incidentsRouter,
  chat: chatRouter,
  system: systemRouter,
});

/** The whole API's type: all a client imports from the server. */
export type AppRouter = typeof appRouter;
