import type { Audience, NewNotification } from './store.ts';
import type { Services } from '../../services.ts';

/** Stores one notification for its audience and announces it; the only way notifications are made. */
export async function notify(
  services: Pick<Services, 'notifications' | 'bus'>,
  audience: Audience,
  content: NewNotification,
): Promise<number> {
  if (audience.kind === 'users' && audience.userIds.length === 0) return 0;
  const created = await services.notifications.create(content, audience);
  await services.bus.publish('notifications.created', { seq: created.seq });
  return created.count;
}
