import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import { secondsSince, sharedRead } from '../shared/metrics.js';
import { outboxBacklog } from './outbox.repository.js';

/** Events committed but not yet fanned out to webhooks (read from the database at each scrape: the same on every process). */
export function registerOutboxMetrics(registry: Registry, db: Db): void {
  const read = sharedRead(() => outboxBacklog(db));
  new Gauge({
    name: 'outbox_events_undispatched',
    help: 'Outbox events not yet fanned out into webhook deliveries',
    registers: [registry],
    async collect() {
      this.set((await read()).count);
    },
  });
  new Gauge({
    name: 'outbox_oldest_undispatched_age_seconds',
    help: 'Age of the oldest outbox event not yet fanned out (0: none)',
    registers: [registry],
    async collect() {
      this.set(secondsSince((await read()).oldestCreatedAt));
    },
  });
}
