import type { Webhook, WebhookCreate, WebhookDelivery } from '../../api/types';

// What the Webhooks view shows for the API's values: URLs without their credentials, event
// names in words, delivery outcomes as a word plus a colour, and the health of recent attempts.

export type EventType = NonNullable<WebhookCreate['events']>[number];

/**
 * The events a person can subscribe to, in words. A Record over the schema's event types, so a
 * new server event fails the type-check until it is named here. `webhook.test` is sent by the
 * test button whatever the subscription, so it is not offered.
 */
const EVENT_LABELS: Record<Exclude<EventType, 'webhook.test'>, string> = {
  'product.created': 'Product created',
  'product.updated': 'Product updated',
  'product.deleted': 'Product deleted',
  'products.bulk_deleted': 'All products deleted',
  'import.completed': 'Import completed',
  'import.failed': 'Import failed or cancelled',
};

export const SUBSCRIBABLE_EVENTS = Object.entries(EVENT_LABELS).map(([type, label]) => ({ type: type as EventType, label }));

/** Query parameters whose values look like credentials. */
const SECRET_PARAMETER = /token|key|secret|sig|pass|auth|credential/i;
const MASK = '••••';

/** The URL as people may see it on screen: user, password and secret-looking query values masked. */
export function displayUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  const credentials = url.username || url.password ? `${MASK}${url.password ? `:${MASK}` : ''}@` : '';
  const parameters = [...url.searchParams].map(([name, value]) => `${name}=${SECRET_PARAMETER.test(name) ? MASK : value}`);
  const query = parameters.length > 0 ? `?${parameters.join('&')}` : '';
  return `${url.protocol}//${credentials}${url.host}${url.pathname}${query}${url.hash}`;
}

export type DeliveryStatus = WebhookDelivery['status'];

export const STATUS_TEXT: Record<DeliveryStatus, { label: string; icon: string; tone: 'ok' | 'bad' | 'warn' | 'wait' }> = {
  succeeded: { label: 'Succeeded', icon: '✓', tone: 'ok' },
  failed: { label: 'Failed', icon: '✕', tone: 'bad' },
  retrying: { label: 'Failed, will retry', icon: '↻', tone: 'warn' },
  pending: { label: 'Pending', icon: '…', tone: 'wait' },
};

export interface Health {
  attempts: number;
  succeeded: number;
  /** 0–100, null without attempts. */
  rate: number | null;
}

export function healthOf(webhook: Webhook): Health {
  const attempts = webhook.recent_deliveries.length;
  const succeeded = webhook.recent_deliveries.filter((attempt) => attempt.status === 'succeeded').length;
  return { attempts, succeeded, rate: attempts === 0 ? null : (succeeded / attempts) * 100 };
}

/** JSON indented for reading; other text as it came. */
export function readableBody(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
