import { sql, type Selectable, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Executor, ProductsTable, Tables } from '../db/database.schema.js';
import type { SearchCandidates, SearchScope } from '../db/search-index.js';
import { dialectOf } from '../db/sql-dialect.js';
import { startsWith } from '../db/sql-fragments.js';
import { skuKey } from './products.rules.js';
import type { ProductSortField } from './products.schemas.js';

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

/**
 * `activeByIndex: false` keeps the planner off the (active, id) index (`active + 0` is no column),
 * for plans that must walk the sort order's index instead.
 */
function applyFilter<O>(db: Executor, query: ProductQuery<O>, filter: ProductFilter, activeByIndex = true): ProductQuery<O> {
  const { containsInsensitive } = dialectOf(db);
  let filtered = query;
  if (filter.q) {
    const { q } = filter;
    filtered = filtered.where((eb) =>
      eb.or([
        containsInsensitive('sku', q),
        containsInsensitive('name', q),
        containsInsensitive('description', q),
      ]),
    );
  }
  if (filter.sku) filtered = filtered.where(startsWith('sku_key', skuKey(filter.sku)));
  if (filter.name) filtered = filtered.where(containsInsensitive('name', filter.name));
  if (filter.description) filtered = filtered.where(containsInsensitive('description', filter.description));
  if (filter.active !== undefined) {
    const active = filter.active ? 1 : 0;
    filtered = activeByIndex ? filtered.where('active', '=', active) : filtered.where(sql<number>`active + 0`, '=', active);
  }
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

/**
 * A text search (q, name, description) counts at most this many matches: past it the list says
 * `total_exact: false` (API.md), so a common term never makes the server count a million rows.
 */
export const TEXT_SEARCH_COUNT_LIMIT = 10_000;

/** The filter each scope answers. */
const FILTER_OF_SCOPE = { any: 'q', name: 'name', description: 'description' } as const satisfies Record<SearchScope, keyof ProductFilter>;

/**
 * The text filter the index answers: the longest term (the most trigrams: the fewest candidates),
 * `name` first among equals, from the names' own index (fewer candidates than any field's).
 */
function indexedSearch(filter: ProductFilter): { term: string; scope: SearchScope } | undefined {
  const scopes: SearchScope[] = ['name', 'any', 'description'];
  const searches = scopes.map((scope) => ({ term: filter[FILTER_OF_SCOPE[scope]], scope }));
  const found = searches.filter((search): search is { term: string; scope: SearchScope } => Boolean(search.term));
  // A stable sort: equal lengths keep the order above.
  return found.sort((a, b) => b.term.length - a.term.length)[0];
}

/** The filter left to check on the candidates: without the ones they answer exactly, if any. */
function filterLeft(filter: ProductFilter, scope: SearchScope, candidates: SearchCandidates): ProductFilter | null {
  if (!candidates.exact) return null;
  return { ...filter, [FILTER_OF_SCOPE[scope]]: undefined, ...(candidates.filtersActive ? { active: undefined } : {}) };
}

type PageWindow = { offset: number; limit: number };

/**
 * The ids of one page, in order. Sorting by price reads the known prices in index order
 * ((price_cents, id), either direction) and then the unknown ones, each branch bounded by the
 * page's end, so neither database sorts the whole catalog to put nulls last.
 */
function pageIds(db: Executor, source: ProductQuery<object>, order: ProductOrder, page: PageWindow) {
  if (order.sort !== 'price') return applyOrder(source.select('id'), order).offset(page.offset).limit(page.limit);
  const direction = order.order;
  const end = page.offset + page.limit;
  const known = source
    .select(['id', 'price_cents'])
    .where('price_cents', 'is not', null)
    .orderBy('price_cents', direction)
    .orderBy('id', direction)
    .limit(end);
  const unknown = source.select(['id', 'price_cents']).where('price_cents', 'is', null).orderBy('id', direction).limit(end);
  return db
    .selectFrom(db.selectFrom(known.as('known')).selectAll().unionAll(db.selectFrom(unknown.as('unknown')).selectAll()).as('priced'))
    .select('priced.id')
    .orderBy(sql`priced.price_cents is null`)
    .orderBy('priced.price_cents', direction)
    .orderBy('priced.id', direction)
    .offset(page.offset)
    .limit(page.limit);
}

/**
 * A page sorted by price: the known prices first, alone (a walk of the price index that stops at
 * the page's end); the unknown ones, which sort after them, only when the page reaches past them.
 * (Both at once made PostgreSQL gather every unknown price matching a search, then sort: 0.2–0.4 s.)
 */
async function pricedPageIds(db: Executor, source: ProductQuery<object>, order: ProductOrder, page: PageWindow): Promise<number[]> {
  const direction = order.order;
  const known = await source
    .select('id')
    .where('price_cents', 'is not', null)
    .orderBy('price_cents', direction)
    .orderBy('id', direction)
    .offset(page.offset)
    .limit(page.limit)
    .execute();
  const ids = known.map((row) => row.id);
  if (ids.length === page.limit) return ids;
  // Past the last known price: how many unknown ones to skip is unknown without counting the
  // known ones; the page straddling the two needs none skipped.
  if (ids.length === 0 && page.offset > 0) return (await pageIds(db, source, order, page).execute()).map((row) => row.id);
  const unknown = await source
    .select('id')
    .where('price_cents', 'is', null)
    .orderBy('id', direction)
    .limit(page.limit - ids.length)
    .execute();
  return [...ids, ...unknown.map((row) => row.id)];
}

export interface ProductListResult {
  rows: ProductRow[];
  total: number;
  /** False when a text search matched more than TEXT_SEARCH_COUNT_LIMIT rows and counting stopped there. */
  totalExact: boolean;
  /** False when the search index left rows out: an import's rows not yet indexed, while a job runs. */
  searchComplete: boolean;
}

export async function listProducts(
  db: Executor,
  filter: ProductFilter,
  order: ProductOrder,
  page: PageWindow,
): Promise<ProductListResult> {
  const base = applyFilter(db, db.selectFrom('products'), filter);
  const readPage = async (source: ProductQuery<object>, on: Executor = db) => {
    // Deferred join: the page's ids first, so skipping `offset` rows walks an index (id, or the
    // sort's index ending in id) without reading those rows; then only the page's rows are read.
    const ids = order.sort === 'price' ? await pricedPageIds(on, source, order, page) : pageIds(on, source, order, page);
    return readRows(on, ids, order);
  };
  const search = indexedSearch(filter);
  if (search === undefined) {
    const [rows, total] = await Promise.all([
      readPage(base),
      filtersOnlyByActive(filter)
        ? dialectOf(db).countProducts(db, filter.active)
        : base
            .select((eb) => eb.fn.countAll<number>().as('total'))
            .executeTakeFirstOrThrow()
            .then((row) => Number(row.total)),
    ]);
    return { rows, total, totalExact: true, searchComplete: true };
  }
  const { searchIndex } = dialectOf(db);
  const candidates = await searchIndex.candidates(db, search.term, search.scope, filter.active);
  const searchComplete = !candidates || !(await searchIndex.skipsUnindexedRows(db));
  // Read from the index's candidate rows (aliased as products, so the filters apply unchanged);
  // the filter they answer is checked again unless their answer is already exactly it.
  const rest = candidates && filterLeft(filter, search.scope, candidates);
  // A field filter keeps few of the candidates: those are better looked up (see membership).
  // `active` off its index: the candidates are the narrow part (SQLite otherwise read every
  // inactive product to find those waiting for the indexer: `q=window&active=false` 85–90 ms at
  // 1M, 27 ms without).
  const narrowed = !candidates
    ? base
    : filter.name || filter.description
      ? applyFilter(db, db.selectFrom('products').where(candidates.membership), rest ?? filter, false)
      : applyFilter(db, db.selectFrom(candidates.rows.as('products')) as unknown as ProductQuery<object>, rest ?? filter, false);
  // Nothing but an exact `q` or `name` (and `active`, where the index keeps it): count the index's
  // ids without reading the products.
  const countedIds =
    candidates && rest && filtersOnlyByActive(rest) && rest.active === undefined
      ? (db.selectFrom(candidates.ids.as('matches')) as unknown as ProductQuery<object>)
      : narrowed;
  const limited = countedIds.select('id').limit(TEXT_SEARCH_COUNT_LIMIT + 1);
  // Candidates that are every product (no index narrows the term) are read once: their ids,
  // which then give the page too. Otherwise one statement counts the matches (no ids sent back)
  // and, when it counted them all, sorts them for the page.
  const matchedIds: number[] | null = candidates?.readsEveryRow ? (await limited.execute()).map((row) => row.id) : null;
  const { counted, pageIds: countedPage } = matchedIds
    ? { counted: matchedIds.length, pageIds: null }
    : await countWithPage(db, limited, order, page);
  const totalExact = counted <= TEXT_SEARCH_COUNT_LIMIT;
  // The count says the page is empty (a rare term: no match, or fewer than the offset skips).
  if (counted <= page.offset) return { rows: [], total: counted, totalExact, searchComplete };
  // Few matches: the page the count found (or sorted from the ids already found). Many: walk the
  // order's index checking each row, which finds a page quickly because at least 1 row in 100 (of
  // a million) matches (with `active` off its index: SQLite otherwise read every active row, then
  // sorted: 1.6 s).
  const rows = !totalExact
    ? await dialectOf(db).walkingIndexOrder(db, (walker) => readPage(applyFilter(walker, walker.selectFrom('products'), filter, false), walker))
    : countedPage
      ? await readRows(db, countedPage, order)
      : await readPage(db.selectFrom('products').where('id', 'in', matchedIds as number[]));
  return { rows, total: totalExact ? counted : TEXT_SEARCH_COUNT_LIMIT, totalExact, searchComplete };
}

/** The rows of a page's ids (found, or the query finding them), in the page's order. */
function readRows(db: Executor, ids: number[] | ReturnType<typeof pageIds>, order: ProductOrder): Promise<ProductRow[]> {
  if (Array.isArray(ids) && ids.length === 0) return Promise.resolve([]);
  return applyOrder(db.selectFrom('products').selectAll().where('id', 'in', ids), order).execute();
}

/**
 * A text search's matches (`limited`: their ids, at most TEXT_SEARCH_COUNT_LIMIT + 1) counted
 * and, when that is all of them, the page's ids among them, in one statement that finds them
 * once. (A count and then the page each searched the index: `q=window&active=false`, 2,175 of
 * 22k hits at 1M on PostgreSQL, 53–55 ms p95, each half reading every hit's text.) Past the limit
 * the page reads nothing: the caller walks the order's index.
 */
async function countWithPage(
  db: Executor,
  limited: SelectQueryBuilder<Tables, 'products', { id: number }>,
  order: ProductOrder,
  page: PageWindow,
): Promise<{ counted: number; pageIds: number[] | null }> {
  // The condition on the count as the limit of the matches read for the page: SQLite evaluates a
  // LIMIT once, before its loop, where a WHERE term holding a subquery was checked row by row after
  // every match had been looked up (dense searches 14 -> 25 ms at 1M).
  const readable = sql<{ id: number }>`(select id from matches limit (select case when total <= ${TEXT_SEARCH_COUNT_LIMIT} then total else 0 end from counted))`;
  // Ordered by id, the page is among the matches' ids alone; another order reads their products
  // (`name=window`, 3,219 matches, by id: 3,219 products read for 20).
  const pageQuery =
    order.sort === 'id'
      ? db.selectFrom(readable.as('matched')).select('matched.id').orderBy(sql`id ${sql.raw(order.order)}`).offset(page.offset).limit(page.limit)
      : pageIds(db, db.selectFrom('products').where(sql<SqlBool>`id in ${readable}`), order, page);
  const rows = await db
    .with((cte) => cte('matches').materialized(), () => limited)
    .with('counted', (creator) => creator.selectFrom('matches').select(sql<number | string | null>`count(*)`.as('total')))
    .selectFrom('counted')
    .select(['total', sql<number | null>`null`.as('id')])
    .unionAll((eb) => eb.selectFrom(sql<{ id: number }>`${pageQuery}`.as('page')).select([sql<null>`null`.as('total'), 'page.id']))
    .execute();
  const counted = Number(rows.find((row) => row.total !== null)?.total);
  const ids = rows.filter((row) => row.total === null).map((row) => Number(row.id));
  return { counted, pageIds: counted <= TEXT_SEARCH_COUNT_LIMIT ? ids : null };
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
