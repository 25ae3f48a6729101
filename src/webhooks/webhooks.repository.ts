import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { DeliveryStatus, Executor, WebhookDeliveriesTable, WebhooksTable } from '../db/database.schema.js';
import { dialectOf } from '../db/sql-dialect.js';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type NewWebhookRow = Omit<Insertable<WebhooksTable>, 'id'>;
export type WebhookChanges = Updateable<Omit<WebhooksTable, 'id'>>;
export type NewDeliveryRow = Pick<
  Insertable<WebhookDeliveriesTable>,
  'webhook_id' | 'event_id' | 'event_type' | 'attempt' | 'created_at' | 'next_attempt_at'
>;

const INSERT_CHUNK = 500;

// --- webhooks -------------------------------------------------------------------------

export function listWebhooks(db: Executor): Promise<WebhookRow[]> {
  return db.selectFrom('webhooks').selectAll().orderBy('id').execute();
}

export function findWebhook(db: Executor, id: number): Promise<WebhookRow | undefined> {
  return db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
}

export function insertWebhook(db: Executor, values: NewWebhookRow): Promise<WebhookRow> {
  return db.insertInto('webhooks').values(values).returningAll().executeTakeFirstOrThrow();
}

export function updateWebhook(db: Executor, id: number, changes: WebhookChanges): Promise<WebhookRow | undefined> {
  return db.updateTable('webhooks').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Deletes the webhook and (by cascade) its deliveries. */
export async function deleteWebhook(db: Executor, id: number): Promise<boolean> {
  const result = await db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Disables an enabled webhook; true when it was enabled. */
export async function disableWebhook(db: Executor, id: number, reason: string, now: string): Promise<boolean> {
  const row = await db
    .updateTable('webhooks')
    .set({ enabled: 0, disabled_reason: reason, disabled_at: now, updated_at: now })
    .where('id', '=', id)
    .where('enabled', '=', 1)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Disables the webhook when its failures go back to `cutoff` or earlier; true when it did. */
export async function disableWebhookFailingSince(
  db: Executor,
  id: number,
  cutoff: string,
  reason: string,
  now: string,
): Promise<boolean> {
  const row = await db
    .updateTable('webhooks')
    .set({ enabled: 0, disabled_reason: reason, disabled_at: now, updated_at: now })
    .where('id', '=', id)
    .where('enabled', '=', 1)
    .where('failing_since', '<=', cutoff)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export interface DeliveryOutcomeSummary {
  status: DeliveryStatus;
  responseStatus: number | null;
  at: string;
  /** The first failure after the batch's last success (or of the batch, with no success); null when the last one succeeded. */
  failingSince: string | null;
  /** True when a success in this batch ended an earlier run of failures. */
  succeededInBatch: boolean;
}

/** Records a webhook's latest outcomes: the last delivery, and the start of its failing run. */
export async function recordWebhookOutcomes(db: Executor, id: number, summary: DeliveryOutcomeSummary): Promise<void> {
  const failingSince =
    summary.failingSince === null
      ? null
      : summary.succeededInBatch
        ? summary.failingSince
        : sql<string>`coalesce(failing_since, ${summary.failingSince})`;
  await db
    .updateTable('webhooks')
    .set({
      last_delivery_status: summary.status,
      last_delivery_response_status: summary.responseStatus,
      last_delivery_at: summary.at,
      failing_since: failingSince,
    })
    .where('id', '=', id)
    .execute();
}

export async function enabledWebhookIds(db: Executor, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('webhooks').select('id').where('id', 'in', ids).where('enabled', '=', 1).execute();
  return new Set(rows.map((row) => Number(row.id)));
}

// --- deliveries -----------------------------------------------------------------------

/** A delivery with its event's data (null when the event is gone), from which the request body is rebuilt. */
export type DeliveryWithEventRow = DeliveryRow & { event_data: string | null; event_created_at: string | Date | null };

function deliveriesWithEvents(db: Executor) {
  return db
    .selectFrom('webhook_deliveries as d')
    .leftJoin('outbox_events as e', 'e.id', 'd.event_id')
    .selectAll('d')
    .select(['e.data as event_data', 'e.created_at as event_created_at']);
}

export function listDeliveries(db: Executor, webhookId: number, limit: number): Promise<DeliveryWithEventRow[]> {
  return deliveriesWithEvents(db).where('d.webhook_id', '=', webhookId).orderBy('d.id', 'desc').limit(limit).execute();
}

export function findDelivery(db: Executor, webhookId: number, id: number): Promise<DeliveryWithEventRow | undefined> {
  return deliveriesWithEvents(db).where('d.id', '=', id).where('d.webhook_id', '=', webhookId).executeTakeFirst();
}

export interface RecentAttemptRow {
  webhook_id: number;
  status: DeliveryStatus;
  response_status: number | null;
  attempted_at: string | Date | null;
}

/**
 * The last `perWebhook` attempts (not pending rows) of every webhook, or of one, newest first.
 * Driven from the webhooks table so that each webhook's cut-off id is looked up once and its
 * rows are one range of the (webhook_id, id) index, however long the log. The cross join
 * (with the join condition in WHERE) makes SQLite keep webhooks as the outer loop; without
 * statistics it would otherwise scan the whole log and run the cut-off lookup per row.
 */
export function recentAttempts(db: Executor, perWebhook: number, webhookId?: number): Promise<RecentAttemptRow[]> {
  let query = db
    .selectFrom('webhooks as w')
    .crossJoin('webhook_deliveries as d')
    .select(['d.webhook_id', 'd.status', 'd.response_status', 'd.attempted_at'])
    .whereRef('d.webhook_id', '=', 'w.id')
    .where('d.status', '<>', 'pending')
    .where('d.id', '>=', (eb) =>
      eb.fn.coalesce(
        eb
          .selectFrom('webhook_deliveries as x')
          .select('x.id')
          .whereRef('x.webhook_id', '=', 'w.id')
          .where('x.status', '<>', 'pending')
          .orderBy('x.id', 'desc')
          .limit(1)
          .offset(perWebhook - 1),
        eb.lit(0),
      ),
    );
  if (webhookId !== undefined) query = query.where('w.id', '=', webhookId);
  return query.orderBy('d.webhook_id').orderBy('d.id', 'desc').execute();
}

export async function insertDeliveries(db: Executor, rows: NewDeliveryRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const values = rows.slice(start, start + INSERT_CHUNK).map((row) => ({ ...row, status: 'pending' as const }));
    await db.insertInto('webhook_deliveries').values(values).execute();
  }
}

export function insertDelivery(db: Executor, row: NewDeliveryRow, leaseUntil: string | null = null): Promise<DeliveryRow> {
  return db
    .insertInto('webhook_deliveries')
    .values({ ...row, status: 'pending', lease_until: leaseUntil })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Ends a webhook's pending deliveries (it was disabled): they will not be sent. */
export async function failPendingDeliveries(db: Executor, webhookId: number, error: string, now: string): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'failed', error, attempted_at: now, next_attempt_at: null, lease_until: null })
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .execute();
}

export interface AttemptRecord {
  status: Exclude<DeliveryStatus, 'pending'>;
  response_status: number | null;
  response_time_ms: number | null;
  response_body: string | null;
  error: string | null;
  attempted_at: string;
  next_attempt_at: string | null;
}

/**
 * Writes the outcome of many attempts in one statement per chunk (an UPDATE … FROM a VALUES
 * list), instead of one round trip per delivery.
 */
export async function recordAttempts(db: Executor, attempts: { id: number; record: AttemptRecord }[]): Promise<void> {
  const integer = (value: number | null) => sql`cast(${value} as integer)`;
  const { timestampValue } = dialectOf(db);
  for (let start = 0; start < attempts.length; start += INSERT_CHUNK) {
    const rows = attempts.slice(start, start + INSERT_CHUNK).map(
      ({ id, record }) =>
        sql`(${sql`cast(${id} as bigint)`}, ${record.status}, ${integer(record.response_status)}, ${integer(record.response_time_ms)},
          ${record.response_body}, ${record.error}, ${timestampValue(record.attempted_at)}, ${timestampValue(record.next_attempt_at)})`,
    );
    await sql`with attempt (id, status, response_status, response_time_ms, response_body, error, attempted_at, next_attempt_at)
        as (values ${sql.join(rows)})
      update webhook_deliveries set status = attempt.status, response_status = attempt.response_status,
        response_time_ms = attempt.response_time_ms, response_body = attempt.response_body, error = attempt.error,
        attempted_at = attempt.attempted_at, next_attempt_at = attempt.next_attempt_at, lease_until = null
      from attempt where webhook_deliveries.id = attempt.id`.execute(db);
  }
}

// --- outbox events a delivery refers to ----------------------------------------------

export async function eventExists(db: Executor, eventId: string): Promise<boolean> {
  const row = await db.selectFrom('outbox_events').select('seq').where('id', '=', eventId).executeTakeFirst();
  return row !== undefined;
}

export async function markEventDispatched(db: Executor, eventId: string, now: string): Promise<void> {
  await db.updateTable('outbox_events').set({ dispatched_at: now }).where('id', '=', eventId).execute();
}

// --- retention ----------------------------------------------------------------------------

/** Delivery log entries that ended (any status but pending) before `before`, at most `limit`; how many. */
export async function deleteEndedDeliveries(db: Executor, before: string, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('webhook_deliveries')
    .where('id', 'in', (eb) =>
      eb.selectFrom('webhook_deliveries').select('id').where('attempted_at', '<', before).where('status', '<>', 'pending').limit(limit),
    )
    .where('status', '<>', 'pending')
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Outbox events fanned out before `before` of which no delivery is pending any more, at
 * most `limit`; how many. (A delivery log entry of a deleted event can no longer be redelivered.)
 */
export async function deleteDeliveredEvents(db: Executor, before: string, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('outbox_events')
    .where('seq', 'in', (eb) =>
      eb
        .selectFrom('outbox_events as event')
        .select('event.seq')
        .where('event.dispatched_at', '<', before)
        .where((inner) =>
          inner.not(
            inner.exists(
              inner
                .selectFrom('webhook_deliveries')
                .select('webhook_deliveries.id')
                .whereRef('webhook_deliveries.event_id', '=', 'event.id')
                .where('webhook_deliveries.status', '=', 'pending'),
            ),
          ),
        )
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Deliveries not yet made (pending, in flight included): how many, the oldest one's creation, the earliest due time. */
export async function deliveryBacklog(db: Executor): Promise<{ count: number; oldestCreatedAt: Date | null; earliestDueAt: Date | null }> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => [eb.fn.countAll<number | string>().as('count'), eb.fn.min('created_at').as('oldest'), eb.fn.min('next_attempt_at').as('due')])
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  const toDate = (value: string | Date | null) => (value === null ? null : new Date(value));
  return { count: Number(row.count), oldestCreatedAt: toDate(row.oldest), earliestDueAt: toDate(row.due) };
}
