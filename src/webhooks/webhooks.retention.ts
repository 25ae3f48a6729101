import type { Db } from '../db/database.js';
import type { RetentionTask } from '../shared/retention.js';
import { deleteDeliveredEvents, deleteEndedDeliveries } from './webhooks.repository.js';

/** Rows deleted per statement: each holds the database's write lock only briefly. */
const PRUNE_BATCH = 1000;
const DAY_MS = 86_400_000;

/**
 * The webhooks feature's retention: delivery log entries `deliveriesDays` after their
 * attempt, and outbox events `outboxDays` after they were fanned out once none of their
 * deliveries is pending (the grace period keeps recent events for a redelivery).
 */
export function webhookRetentionTasks(db: Db, settings: { deliveriesDays: number; outboxDays: number }): RetentionTask[] {
  const daysBefore = (now: Date, days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
  return [
    { name: 'webhook deliveries', pruneBatch: (now) => deleteEndedDeliveries(db, daysBefore(now, settings.deliveriesDays), PRUNE_BATCH) },
    { name: 'outbox events', pruneBatch: (now) => deleteDeliveredEvents(db, daysBefore(now, settings.outboxDays), PRUNE_BATCH) },
  ];
}
