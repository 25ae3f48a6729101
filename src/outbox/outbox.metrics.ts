import type { Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import { registerScrapedGauge, scrapeRead, secondsSince } from '../shared/metrics.js';
import { outboxBacklog } from './outbox.repository.js';

/** Events committed but not yet fanned out to webhooks (read from the database at each scrape: the same on every process). */
export function registerOutboxMetrics(registry: Registry, db: Db): void {
  const read = scrapeRead(() => outboxBacklog(db));
  registerScrapedGauge(registry, read, {
    name: 'outbox_events_undispatched',
    help: 'Outbox events not yet fanned out into webhook deliveries',
    value: (backlog) => backlog.count,
  });
  registerScrapedGauge(registry, read, {
    name: 'outbox_oldest_undispatched_age_seconds',
    help: 'Age of the oldest outbox event not yet fanned out (0: none)',
    value: (backlog) => secondsSince(backlog.oldestCreatedAt),
  });
}
