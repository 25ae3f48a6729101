import { sql } from 'kysely';
import type { Executor } from '../db/database.schema.js';

// The dispatcher's queue: how a dispatcher finds work and claims it. Any number of
// dispatchers (processes) share it: events and deliveries are claimed with single
// UPDATE … RETURNING statements, so two never take the same row.
//
// The claims below write. On SQLite a write waits (synchronously, on the API's thread) for
// the database's one writer, e.g. an import's batch transaction (~0.3 s): measured, the
// dispatcher's poll then held the event loop up to 330 ms and GET /api/products p99 rose to
// 100–600 ms during imports. So the dispatcher first looks with a read, which never waits.

/** Whether some outbox event is not fanned out yet (a read). */
export async function hasUndispatchedEvents(db: Executor): Promise<boolean> {
  const row = await db.selectFrom('outbox_events').select('seq').where('dispatched_at', 'is', null).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** Whether some delivery is due and not leased (a read). */
export async function hasClaimableDeliveries(db: Executor, now: string): Promise<boolean> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Takes up to `limit` outbox events not yet fanned out and marks them dispatched, in
 * one statement: concurrent dispatchers (other processes) never take the same event.
 */
export async function claimOutboxEvents(db: Executor, now: string, limit: number): Promise<{ id: string; type: string; seq: number }[]> {
  const rows = await db
    .updateTable('outbox_events')
    .set({ dispatched_at: now })
    .where('seq', 'in', (eb) =>
      eb.selectFrom('outbox_events').select('seq').where('dispatched_at', 'is', null).orderBy('seq').limit(limit),
    )
    .where('dispatched_at', 'is', null)
    .returning(['id', 'type', 'seq'])
    .execute();
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq));
}

/** The enabled webhooks and the events each subscribes to (a JSON array). */
export function enabledSubscriptions(db: Executor): Promise<{ id: number; events: string }[]> {
  return db.selectFrom('webhooks').select(['id', 'events']).where('enabled', '=', 1).execute();
}

export interface ClaimOptions {
  now: string;
  leaseUntil: string;
  /** At most this many in all. */
  limit: number;
  /** At most this many per webhook… */
  perWebhookLimit: number;
  /** …or fewer for the webhooks this dispatcher is already sending to: id -> free slots. */
  freeSlots: Map<number, number>;
}

/**
 * Leases due pending deliveries of enabled webhooks, oldest first, at most
 * `perWebhookLimit` (or the webhook's free slots) per webhook, in one UPDATE … RETURNING:
 * a row leased by one dispatcher is skipped by the others until the lease ends.
 */
export async function claimDueDeliveries(db: Executor, options: ClaimOptions): Promise<number[]> {
  const { now, leaseUntil, limit, perWebhookLimit, freeSlots } = options;
  const integer = (value: number) => sql`cast(${value} as integer)`;
  const partlyFree = [...freeSlots].filter(([, slots]) => slots > 0);
  const full = [...freeSlots].filter(([, slots]) => slots <= 0).map(([id]) => id);
  const free =
    partlyFree.length === 0
      ? integer(perWebhookLimit)
      : sql`case c.webhook_id ${sql.join(
          partlyFree.map(([id, slots]) => sql`when ${id} then ${integer(slots)}`),
          sql` `,
        )} else ${integer(perWebhookLimit)} end`;
  // Webhooks with no free slot are left out, and only the oldest few due rows are ranked, so
  // a large backlog costs each claim little (a webhook capped here is taken on the next claim).
  const candidates = Math.max(limit * 4, 100);
  const notFull = full.length === 0 ? sql`` : sql`and d.webhook_id not in (${sql.join(full)})`;
  const result = await sql<{ id: number }>`
    update webhook_deliveries set lease_until = ${leaseUntil}
    where id in (
      select id from (
        select c.id, c.next_attempt_at,
          row_number() over (partition by c.webhook_id order by c.next_attempt_at, c.id) as position,
          ${free} as free
        from (
          select d.id, d.webhook_id, d.next_attempt_at
          from webhook_deliveries d join webhooks w on w.id = d.webhook_id
          where d.status = 'pending' and d.next_attempt_at <= ${now}
            and (d.lease_until is null or d.lease_until < ${now}) and w.enabled = 1 ${notFull}
          order by d.next_attempt_at, d.id
          limit ${candidates}
        ) c
      ) ranked
      where position <= free
      order by next_attempt_at, id
      limit ${limit}
    )
    and status = 'pending' and (lease_until is null or lease_until < ${now})
    returning id`.execute(db);
  return result.rows.map((row) => Number(row.id));
}

export interface ClaimedDelivery {
  id: number;
  webhook_id: number;
  event_id: string;
  event_type: string;
  attempt: number;
  url: string;
  secret: string;
  /** The event's data as JSON text; null if the event is gone. */
  data: string | null;
  event_created_at: string | Date | null;
}

export async function loadClaimedDeliveries(db: Executor, ids: number[]): Promise<ClaimedDelivery[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .leftJoin('outbox_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.webhook_id',
      'd.event_id',
      'd.event_type',
      'd.attempt',
      'w.url',
      'w.secret',
      'e.data',
      'e.created_at as event_created_at',
    ])
    .where('d.id', 'in', ids)
    .orderBy('d.id')
    .execute();
  return rows.map((row) => ({ ...row, id: Number(row.id), webhook_id: Number(row.webhook_id) }));
}

/** Gives claimed deliveries back (the process is stopping before sending them). */
export async function releaseDeliveries(db: Executor, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('webhook_deliveries').set({ lease_until: null }).where('id', 'in', ids).where('status', '=', 'pending').execute();
}
