import { z } from 'zod';

export const healthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeS: z.number(),
});

export const statsSchema = z.object({
  connections: z.object({ sse: z.number().int(), ws: z.number().int() }),
  subscriptions: z.number().int(),
  eventsPublished: z.number().int(),
  eventsDelivered: z.number().int(),
  droppedSlowConsumers: z.number().int(),
  instance: z.string(),
});
export type Stats = z.infer<typeof statsSchema>;
