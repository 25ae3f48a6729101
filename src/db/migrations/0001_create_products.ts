import { sql, type Kysely } from 'kysely';
import { isPostgres, timestampType } from './migration-helpers.js';

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  await db.schema
    .createTable('products')
    .addColumn('id', postgres ? 'bigint' : 'integer', (col) =>
      postgres ? col.primaryKey().generatedByDefaultAsIdentity() : col.primaryKey().autoIncrement(),
    )
    .addColumn('sku', 'text', (col) => col.notNull())
    // Byte-wise collation, so a prefix search is an index range scan on PostgreSQL too.
    .addColumn('sku_key', postgres ? sql`text collate "C"` : 'text', (col) => col.notNull().unique())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text')
    .addColumn('price_cents', 'bigint', (col) => col.check(sql`price_cents >= 0`))
    .addColumn('active', 'integer', (col) => col.notNull().defaultTo(1).check(sql`active in (0, 1)`))
    .addColumn('created_at', timestampType(db), (col) => col.notNull())
    .addColumn('updated_at', timestampType(db), (col) => col.notNull())
    .execute();
  // Each list filter or sort that must stay fast on a million rows has an index ending in id,
  // the tie-breaker of every ordering.
  await db.schema.createIndex('products_name_id_idx').on('products').columns(['name', 'id']).execute();
  await db.schema.createIndex('products_active_id_idx').on('products').columns(['active', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('products').execute();
}
