import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import { secondsSince, sharedRead } from '../shared/metrics.js';
import { deliveryBacklog } from './webhooks.repository.js';

/** The webhook delivery backlog and lag (read from the database at each scrape: the same on every process). */
export function registerWebhookDeliveryMetrics(registry: Registry, db: Db): void {
  const read = sharedRead(() => deliveryBacklog(db));
  new Gauge({
    name: 'webhook_deliveries_pending',
    help: 'Webhook deliveries not yet made (waiting, due, being sent, or waiting for a retry)',
    registers: [registry],
    async collect() {
      this.set((await read()).count);
    },
  });
  new Gauge({
    name: 'webhook_oldest_pending_delivery_age_seconds',
    help: 'Age of the oldest pending webhook delivery (0: none)',
    registers: [registry],
    async collect() {
      this.set(secondsSince((await read()).oldestCreatedAt));
    },
  });
  new Gauge({
    name: 'webhook_delivery_lag_seconds',
    help: 'How long the most overdue pending delivery has been due, being sent included (0: none is due)',
    registers: [registry],
    async collect() {
      this.set(secondsSince((await read()).earliestDueAt));
    },
  });
}
