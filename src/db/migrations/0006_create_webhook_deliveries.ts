import { sql, type Kysely } from 'kysely';
import { isPostgres, timestampType } from './migration-helpers.js';

// Every attempt to deliver an event to a webhook; `pending` rows are the dispatcher's work queue.
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', postgres ? 'bigint' : 'integer', (col) =>
      postgres ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement(),
    )
    .addColumn('webhook_id', 'bigint', (col) => col.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (col) => col.notNull())
    .addColumn('event_type', 'text', (col) => col.notNull())
    .addColumn('attempt', 'integer', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_time_ms', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', timestampType(db), (col) => col.notNull())
    .addColumn('attempted_at', timestampType(db))
    .addColumn('next_attempt_at', timestampType(db))
    .addColumn('lease_until', timestampType(db))
    .execute();
  // A webhook's log, newest first.
  await db.schema
    .createIndex('webhook_deliveries_webhook_id_idx')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'id'])
    .execute();
  // The work queue: only pending rows, in due order.
  await db.schema
    .createIndex('webhook_deliveries_due_idx')
    .on('webhook_deliveries')
    .columns(['next_attempt_at', 'id'])
    .where(sql.ref('status'), '=', 'pending')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
}
