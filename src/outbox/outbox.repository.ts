import { randomUUID } from 'node:crypto';
import type { Executor } from '../db/database.schema.js';
import type { EventType } from './outbox.events.js';

export function newEventId(): string {
  return `evt_${randomUUID().replaceAll('-', '')}`;
}

/**
 * Appends an event for the webhook dispatcher. Call it with the transaction that makes
 * the change: the event then exists exactly when the change does.
 */
export async function appendOutboxEvent(db: Executor, type: EventType, data: unknown, now: string): Promise<string> {
  const [id] = await appendOutboxEvents(db, type, [data], now);
  return id as string;
}

/** Appends one event per item, a few hundred per statement (e.g. a delete of selected products). */
export async function appendOutboxEvents(db: Executor, type: EventType, items: unknown[], now: string): Promise<string[]> {
  const CHUNK = 500;
  const ids: string[] = [];
  for (let start = 0; start < items.length; start += CHUNK) {
    const values = items
      .slice(start, start + CHUNK)
      .map((data) => ({ id: newEventId(), type, data: JSON.stringify(data), created_at: now }));
    await db.insertInto('outbox_events').values(values).execute();
    ids.push(...values.map((value) => value.id));
  }
  return ids;
}

/** Events not yet fanned out into deliveries: how many, and when the oldest was committed (null: none). */
export async function outboxBacklog(db: Executor): Promise<{ count: number; oldestCreatedAt: Date | null }> {
  const row = await db
    .selectFrom('outbox_events')
    .select((eb) => [eb.fn.countAll<number | string>().as('count'), eb.fn.min('created_at').as('oldest')])
    .where('dispatched_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), oldestCreatedAt: row.oldest === null ? null : new Date(row.oldest) };
}
