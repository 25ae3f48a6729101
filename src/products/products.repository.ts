import { sql, type Kysely, type Selectable, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { Tables, ProductsTable } from '../db/database.schema.js';
import { containsInsensitive, countProducts, startsWith } from '../db/sql-fragments.js';
import { skuKey } from './products.rules.js';
import type { ProductSortField } from './products.schemas.js';

/** A connection or a transaction: every repository function works inside either. */
export type Executor = Kysely<Tables> | Transaction<Tables>;
export type ProductRow = Selectable<ProductsTable>;

export interface ProductFilter {
  q?: string;
  sku?: string;
  name?: string;
  description?: string;
  active?: boolean;
}

export interface ProductOrder {
  sort: ProductSortField;
  order: 'asc' | 'desc';
}

export interface NewProductRow {
  sku: string;
  name: string;
  description: string | null;
  price_cents: number | null;
  active: boolean;
}

type ProductQuery<O> = SelectQueryBuilder<Tables, 'products', O>;

function applyFilter<O>(db: Executor, query: ProductQuery<O>, filter: ProductFilter): ProductQuery<O> {
  let filtered = query;
  if (filter.q) {
    const { q } = filter;
    filtered = filtered.where((eb) =>
      eb.or([
        containsInsensitive(db, 'sku', q),
        containsInsensitive(db, 'name', q),
        containsInsensitive(db, 'description', q),
      ]),
    );
  }
  if (filter.sku) filtered = filtered.where(startsWith('sku_key', skuKey(filter.sku)));
  if (filter.name) filtered = filtered.where(containsInsensitive(db, 'name', filter.name));
  if (filter.description) filtered = filtered.where(containsInsensitive(db, 'description', filter.description));
  if (filter.active !== undefined) filtered = filtered.where('active', '=', filter.active ? 1 : 0);
  return filtered;
}

/** True when nothing but `active` (if that) narrows the list. */
function filtersOnlyByActive({ q, sku, name, description }: ProductFilter): boolean {
  return !q && !sku && !name && !description;
}

/** The column each sort field orders by; SKUs order case-insensitively, by their key. */
const SORT_COLUMNS: Record<ProductSortField, string> = {
  id: 'id',
  sku: 'sku_key',
  name: 'name',
  price: 'price_cents',
  created_at: 'created_at',
  updated_at: 'updated_at',
};

function applyOrder<O>(query: ProductQuery<O>, { sort, order }: ProductOrder): ProductQuery<O> {
  const direction = sql.raw(order);
  const column = sql.ref(SORT_COLUMNS[sort]);
  // Unknown prices sort last in both directions and both dialects (their defaults differ).
  const ordered = sort === 'price' ? query.orderBy(sql`${column} ${direction} nulls last`) : query;
  const primary = sort === 'id' || sort === 'price' ? ordered : ordered.orderBy(sql`${column} ${direction}`);
  return primary.orderBy(sql`id ${direction}`);
}

export async function listProducts(
  db: Executor,
  filter: ProductFilter,
  order: ProductOrder,
  page: { offset: number; limit: number },
): Promise<{ rows: ProductRow[]; total: number }> {
  const base = applyFilter(db, db.selectFrom('products'), filter);
  // Deferred join: the page's ids first, so skipping `offset` rows walks an index (id, or the
  // sort's index ending in id) without reading those rows; then only the page's rows are read.
  const pageIds = applyOrder(base.select('id'), order).offset(page.offset).limit(page.limit);
  const [rows, total] = await Promise.all([
    applyOrder(db.selectFrom('products').selectAll().where('id', 'in', pageIds), order).execute(),
    filtersOnlyByActive(filter)
      ? countProducts(db, filter.active)
      : base
          .select((eb) => eb.fn.countAll<number>().as('total'))
          .executeTakeFirstOrThrow()
          .then((row) => Number(row.total)),
  ]);
  return { rows, total };
}

/** The filtered, ordered catalog as a stream of rows read in chunks, for exports. */
export function streamProducts(db: Executor, filter: ProductFilter, order: ProductOrder): AsyncIterable<ProductRow> {
  return applyOrder(applyFilter(db, db.selectFrom('products').selectAll(), filter), order).stream(1000);
}

export function findProductById(db: Executor, id: number): Promise<ProductRow | undefined> {
  return db.selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
}

export function insertProduct(db: Executor, product: NewProductRow, now: string): Promise<ProductRow> {
  return db
    .insertInto('products')
    .values({
      ...product,
      sku: product.sku.trim(),
      sku_key: skuKey(product.sku),
      active: product.active ? 1 : 0,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function updateProductById(
  db: Executor,
  id: number,
  changes: Partial<NewProductRow>,
  now: string,
): Promise<ProductRow | undefined> {
  const { sku, active, ...rest } = changes;
  return db
    .updateTable('products')
    .set({
      ...rest,
      ...(sku === undefined ? {} : { sku: sku.trim(), sku_key: skuKey(sku) }),
      ...(active === undefined ? {} : { active: active ? 1 : 0 }),
      updated_at: now,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export function deleteProductById(db: Executor, id: number): Promise<ProductRow | undefined> {
  return db.deleteFrom('products').where('id', '=', id).returningAll().executeTakeFirst();
}

export function deleteProductsByIds(db: Executor, ids: number[]): Promise<ProductRow[]> {
  return db.deleteFrom('products').where('id', 'in', ids).returningAll().execute();
}
