import type { Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import { registerScrapedGauge, scrapeRead, secondsSince } from '../shared/metrics.js';
import { deliveryBacklog } from './webhooks.repository.js';

/** The webhook delivery backlog and lag (read from the database at each scrape: the same on every process). */
export function registerWebhookDeliveryMetrics(registry: Registry, db: Db): void {
  const read = scrapeRead(() => deliveryBacklog(db));
  registerScrapedGauge(registry, read, {
    name: 'webhook_deliveries_pending',
    help: 'Webhook deliveries not yet made (waiting, due, being sent, or waiting for a retry)',
    value: (backlog) => backlog.count,
  });
  registerScrapedGauge(registry, read, {
    name: 'webhook_oldest_pending_delivery_age_seconds',
    help: 'Age of the oldest pending webhook delivery (0: none)',
    value: (backlog) => secondsSince(backlog.oldestCreatedAt),
  });
  registerScrapedGauge(registry, read, {
    name: 'webhook_delivery_lag_seconds',
    help: 'How long the most overdue pending delivery has been due, being sent included (0: none is due)',
    value: (backlog) => secondsSince(backlog.earliestDueAt),
  });
}
