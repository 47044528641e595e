import type { NewNotification } from './store/notifications.ts';
import type { Services } from './services.ts';

/** Stores one notification for its recipients and announces it; the only way notifications are made. */
export async function notify(
  services: Pick<Services, 'notifications' | 'bus'>,
  recipientIds: string[],
  content: NewNotification,
): Promise<number> {
  if (recipientIds.length === 0) return 0;
  const created = await services.notifications.create(content, recipientIds);
  await services.bus.publish('notifications.created', { seq: created.seq });
  return created.recipientIds.length;
}
