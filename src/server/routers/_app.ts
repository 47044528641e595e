import { router } from '../trpc.ts';
import { authRouter } from './auth.ts';
import { chatRouter } from './chat.ts';
import { dashboardRouter } from './dashboard.ts';
import { alertsRouter, incidentsRouter } from './incidents.ts';
import { metricsRouter } from './metrics.ts';
import { notificationsRouter } from './notifications.ts';
import { systemRouter } from './system.ts';
import { teamsRouter, usersRouter } from './users.ts';

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
