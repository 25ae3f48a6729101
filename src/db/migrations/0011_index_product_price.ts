import type { Kysely } from 'kysely';

// Sorting by price on a million products: (price_cents, id) serves both directions, the
// known prices walked forward or backward and the unknown ones (null) as their own range,
// which the list reads after them (unknown prices sort last either way).

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('products_price_id_idx').on('products').columns(['price_cents', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('products_price_id_idx').execute();
}
