/** Every event type a webhook can subscribe to. */
export const EVENT_TYPES = [
  'product.created',
  'product.updated',
  'product.deleted',
  'products.bulk_deleted',
  'import.completed',
  'import.failed',
  'webhook.test',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The body of every webhook request. */
export interface EventEnvelope {
  id: string;
  type: EventType;
  timestamp: string;
  data: unknown;
}
