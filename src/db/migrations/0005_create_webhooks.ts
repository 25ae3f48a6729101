import type { Kysely } from 'kysely';
import { isPostgres, timestampType } from './migration-helpers.js';

// Webhook endpoints: where events go, which ones, signed with which secret, and why one was disabled.
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  await db.schema
    .createTable('webhooks')
    .addColumn('id', postgres ? 'bigint' : 'integer', (col) =>
      postgres ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement(),
    )
    .addColumn('url', 'text', (col) => col.notNull())
    .addColumn('events', 'text', (col) => col.notNull())
    .addColumn('enabled', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('description', 'text')
    .addColumn('secret', 'text', (col) => col.notNull())
    .addColumn('disabled_reason', 'text')
    .addColumn('disabled_at', timestampType(db))
    .addColumn('failing_since', timestampType(db))
    .addColumn('last_delivery_status', 'text')
    .addColumn('last_delivery_response_status', 'integer')
    .addColumn('last_delivery_at', timestampType(db))
    .addColumn('created_at', timestampType(db), (col) => col.notNull())
    .addColumn('updated_at', timestampType(db), (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhooks').execute();
}
