import type { Executor } from '../db/database.schema.js';

export async function countProducts(db: Executor): Promise<number> {
  const row = await db.selectFrom('products').select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Deletes up to `limit` products (lowest ids first); returns how many. */
export async function deleteProductChunk(db: Executor, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('products')
    .where('id', 'in', (eb) => eb.selectFrom('products').select('id').orderBy('id').limit(limit))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
