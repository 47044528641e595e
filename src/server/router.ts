import { createAuthRouter } from './features/auth/router.ts';
import { createChatRouter } from './features/chat/router.ts';
import { createIncidentsRouter } from './features/incidents/router.ts';
import { createRulesRouter } from './features/incidents/rules-router.ts';
import { createDashboardRouter } from './features/metrics/dashboard-router.ts';
import { createMetricsRouter } from './features/metrics/router.ts';
import { createNotificationsRouter } from './features/notifications/router.ts';
import { createSystemRouter } from './features/system/router.ts';
import { createUsersRouter } from './features/users/router.ts';
import { createTeamsRouter } from './features/users/teams-router.ts';
import { router } from './platform/trpc.ts';

/** What each part of the API is built from: the dependencies of its router's factory. */
export interface AppRouterDeps {
  auth: Parameters<typeof createAuthRouter>[0];
  users: Parameters<typeof createUsersRouter>[0];
  teams: Parameters<typeof createTeamsRouter>[0];
  notifications: Parameters<typeof createNotificationsRouter>[0];
  metrics: Parameters<typeof createMetricsRouter>[0];
  dashboard: Parameters<typeof createDashboardRouter>[0];
  alerts: Parameters<typeof createRulesRouter>[0];
  incidents: Parameters<typeof createIncidentsRouter>[0];
  chat: Parameters<typeof createChatRouter>[0];
  system: Parameters<typeof createSystemRouter>[0];
}

/** The whole API: one namespace per part, each built by its feature's factory. */
export function createAppRouter(deps: AppRouterDeps) {
  return router({
    auth: createAuthRouter(deps.auth),
    users: createUsersRouter(deps.users),
    teams: createTeamsRouter(deps.teams),
    notifications: createNotificationsRouter(deps.notifications),
    metrics: createMetricsRouter(deps.metrics),
    dashboard: createDashboardRouter(deps.dashboard),
    alerts: createRulesRouter(deps.alerts),
    incidents: createIncidentsRouter(deps.incidents),
    chat: createChatRouter(deps.chat),
    system: createSystemRouter(deps.system),
  });
}

/** The whole API's type: all a client imports from the server. */
export type AppRouter = ReturnType<typeof createAppRouter>;
