import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { Tables } from './database.schema.js';
import { JOB_RUNNING, type IndexBatchResult, type SearchIndex, type SearchScope } from './search-index.js';
import { escapeLike } from './sql-fragments.js';

// PostgreSQL's search index: product_search(product_id, text) holding lower(text) and
// product_search_name(product_id, name) holding lower(name), each with a pg_trgm GIN index (the
// same lower() ILIKE applies), and product_search_queue holding the ids to (re)index.
//
// `text` is lower(sku ‖ '\n' ‖ name ‖ '\n' ‖ description) with the SKU's and the name's own line
// ends written as '\r' (migration 0014), so its first two '\n' separate the fields, and a term
// (without a line end) after both of them is in the description.

/** The text product_search holds for a product (aliased `p`), as above; bench/api.bench.ts seeds it the same way. */
export const INDEXED_TEXT_SQL = `lower(replace(p.sku, E'\\n', E'\\r') || E'\\n' || replace(p.name, E'\\n', E'\\r') || E'\\n' || coalesce(p.description, ''))`;

/**
 * Where each scope's term is looked for: an index table, its column, and what the hit's LIKE
 * pattern puts before the term. `text` holds line ends changed (see above): a term's line ends
 * match any character there, and its hits are then checked on the row (exact: false).
 * product_search also keeps each product's `active` (migration 0015; null in entries written
 * before it), so a search filtered by it need not read the product.
 */
const SCOPE_LOOKUPS = {
  any: { table: sql`product_search`, column: sql`s.text`, before: '%', fields: ['p.sku', 'p.name', 'p.description'], lineEndsChanged: true, keepsActive: true },
  name: { table: sql`product_search_name`, column: sql`s.name`, before: '%', fields: ['p.name'], lineEndsChanged: false, keepsActive: false },
  description: { table: sql`product_search`, column: sql`s.text`, before: '%\n%\n%', fields: ['p.description'], lineEndsChanged: true, keepsActive: true },
} satisfies Record<
  SearchScope,
  { table: RawBuilder<unknown>; column: RawBuilder<unknown>; before: string; fields: string[]; lineEndsChanged: boolean; keepsActive: boolean }
>;

const LINE_ENDS = /[\n\r]/g;

/**
 * From this many queued ids on, a search looks each hit up in the queue rather than hashing the
 * queue. A dense count (10,001 of `velquo`'s 20k hits, 400k products) took in `psql`, hashed /
 * looked up: 13.7 / 17.3 ms with 1,000 ids queued, 16.1 / 18.7 with 20k, 35 / 23 with 80k,
 * 64 / 38 with 180k (the queue a re-import of 500k rows leaves while it runs).
 */
export const QUEUE_PROBED_FROM = 50_000;

/**
 * containsInsensitive from the dialect: the check of rows not indexed yet. The index's answer
 * for the rest is exactly that check, for a term without a line end (see candidates).
 */
type ContainsInsensitive = (column: string, term: string) => Expression<SqlBool>;

export function postgresSearchIndex(containsInsensitive: ContainsInsensitive): SearchIndex {
  return {
    // The import queues every product it writes, whatever changed.
    indexedColumns: new Set(['sku', 'name', 'description', 'active']),
    async candidates(_db, term, scope, active) {
      // ILIKE (in a multi-byte encoding) is lower(value) LIKE lower(pattern); lower() maps
      // character by character (libc; ICU's one contextual rule, final sigma, sees a line end as
      // the end of a word either way), so for a term without a line end `text LIKE lower(%term%)`
      // is exactly "sku, name or description ILIKE %term%", and `text LIKE lower(%\n%\n%term%)`
      // "description ILIKE %term%": indexed rows need no second check. A hit in
      // product_search_name's lower(name) is exactly "name ILIKE %term%". Rows in the queue (never
      // indexed, or changed since) have stale entries, if any: they are checked on the row — all of
      // them while no job runs, only those the index finds while one does (search-index.ts). The GIN
      // indexes serve terms of 3+ characters (pg_trgm takes the pattern's trigrams, line ends
      // aside); shorter ones scan the folded text until enough rows are found (a count stops at 10,001).
      const { table, column, before, fields, lineEndsChanged, keepsActive } = SCOPE_LOOKUPS[scope];
      const escaped = escapeLike(term);
      const loosened = lineEndsChanged ? escaped.replace(LINE_ENDS, '_') : escaped;
      const pattern = `${before}${loosened}%`;
      const onRow = sql`(${sql.join(fields.map((field) => containsInsensitive(field, term)), sql` or `)})`;
      const hit = sql`${column} like lower(${pattern}) escape '\\'`;
      // `active`, when asked and the index keeps it: a hit not queued is filtered by its entry's
      // (which every write of `active` re-indexes or queues) before its product is read, or by the
      // row's for an entry written before migration 0015; a queued one by its row's.
      const filtersActive = active !== undefined && keepsActive;
      const activeValue = active ? 1 : 0;
      const activeOnRow = filtersActive ? sql`p.active = ${activeValue}` : sql`true`;
      const activeOnEntry = filtersActive
        ? sql`coalesce(s.active, (select r.active from products r where r.id = s.product_id)) = ${activeValue}`
        : sql`true`;
      // Hits whose row is not queued are the answer. Queued rows (their entries may be stale): while
      // no job runs, each is checked on the row; while one runs, only those the index finds (the
      // branch not taken is cut by a one-time filter, so an idle search plans as before).
      //
      // "Is it queued" is asked of each hit as a subquery behind a one-time check that the queue
      // holds anything: as a plain NOT EXISTS the planner made it an anti join, which scanned the
      // (empty) queue once per hit, or hashed the whole queue for every search (`window`'s count
      // at 1M: 42–54 ms with the queue empty, 111–121 ms with 200k ids queued; so: 23–25 and 41 ms).
      // As a subquery the planner still hashes the whole queue, which is cheapest while it is short;
      // past QUEUE_PROBED_FROM ids (the statistics' live estimate, read once) each hit looks its id
      // up in the queue's index instead (`offset 0` keeps the subquery from being hashed).
      const queued = sql`(exists (select 1 from product_search_queue)
        and case when (select pg_stat_get_live_tuples('product_search_queue'::regclass)) >= ${QUEUE_PROBED_FROM}
          then exists (select 1 from product_search_queue q where q.product_id = s.product_id offset 0)
          else exists (select 1 from product_search_queue q where q.product_id = s.product_id) end)`;
      const hits = sql`${table} s join products p on p.id = s.product_id where ${hit}`;
      const queuedHits = sql`${hits} and ${queued} and ${onRow} and ${activeOnRow} and ${JOB_RUNNING}`;
      const queuedRows = sql`product_search_queue q join products p on p.id = q.product_id where ${onRow} and ${activeOnRow} and not ${JOB_RUNNING}`;
      const matchingIds = sql`select s.product_id as id from ${table} s where ${hit} and not ${queued} and ${activeOnEntry}
        union all select p.id from ${queuedHits} union all select p.id from ${queuedRows}`;
      return {
        rows: sql`(select p.* from ${hits} and not ${queued} and ${activeOnEntry}
          union all select p.* from ${queuedHits} union all select p.* from ${queuedRows})`,
        ids: sql`(${matchingIds})`,
        // = any(array(…)): gathered once, then looked up by primary key (as a plain IN, stale
        // statistics right after an import made the planner rescan the index table per product).
        membership: sql<SqlBool>`products.id = any(array(${matchingIds}))`,
        exact: loosened === escaped,
        readsEveryRow: [...term].length < 3,
        filtersActive,
      };
    },
    async indexNow(db, ids) {
      if (ids.length === 0) return;
      // Out of the queue first: this waits for an indexer that claimed one of these ids (and read
      // its text before this write), so the entries written next are the last word.
      await sql`delete from product_search_queue where product_id = any(${[...ids]}::bigint[])`.execute(db);
      await sql`with ${writeEntries(sql`select unnest(${[...ids]}::bigint[])`)} select 1`.execute(db);
    },
    async skipsUnindexedRows(db) {
      const { rows } = await sql<{ skips: boolean }>`select ${JOB_RUNNING} and exists (select 1 from product_search_queue) as skips`.execute(db);
      return rows[0]?.skips === true;
    },
    async countUnindexed(db) {
      const { rows } = await sql<{ count: string | number }>`select count(*) as count from product_search_queue`.execute(db);
      return Number(rows[0]?.count ?? 0);
    },
    async reset(db) {
      await db.transaction().execute(async (trx) => {
        await sql`delete from product_search`.execute(trx);
        await sql`delete from product_search_name`.execute(trx);
        await sql`insert into product_search_queue (product_id) select id from products
          on conflict (product_id) do nothing`.execute(trx);
      });
    },
    openWriter: (db) => ({
      targetBatchMs: 250,
      restRatio: 0,
      indexBatch: (limit) => indexPostgresBatch(db, limit),
      async caughtUp() {
        // skip_locked: another process's indexer may be vacuuming it already.
        await sql`vacuum (skip_locked) product_search_queue`.execute(db);
      },
      close: async () => undefined,
    }),
  };
}

/**
 * The indexer never makes a foreground writer wait for long, nor fail: a batch that waits for a
 * row lock longer than this gives up (and is tried again), well before PostgreSQL's deadlock
 * check (1 s) could pick a bulk delete or an import as the victim. (A bulk delete locks products
 * and then, by cascade, their index rows; a batch locks index rows and then, by its foreign
 * key, products: the two can wait for each other.)
 */
const INDEXER_LOCK_TIMEOUT = '100ms';
const LOCK_NOT_AVAILABLE = '55P03';
const DEADLOCK_DETECTED = '40P01';

async function indexPostgresBatch(db: Kysely<Tables>, limit: number): Promise<IndexBatchResult> {
  try {
    const indexed = await db.transaction().execute(async (trx) => {
      await sql`select set_config('lock_timeout', ${INDEXER_LOCK_TIMEOUT}, true)`.execute(trx);
      return claimAndIndex(trx, limit);
    });
    return { indexed, busy: false };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === LOCK_NOT_AVAILABLE || code === DEADLOCK_DETECTED) return { indexed: 0, busy: true };
    throw error;
  }
}

async function claimAndIndex(db: Kysely<Tables>, limit: number): Promise<number> {
  // One statement: claim ids (skipping those an import or API write holds: they will be
  // queued again, or indexed, when it commits), read their text, upsert it. A writer that
  // changes a claimed product after this read re-queues it or indexes it itself (the import's
  // upsert and indexNow wait for this statement's row locks on the queue), after this batch.
  //
  // The claimed rows are deleted by their ctid (a TID scan): as `product_id in (…)`, statistics
  // taken while the queue was empty (a VACUUM after a catch-up: 0 rows in 333 pages) made the
  // planner re-run the locking subquery for every queued row, and a batch of the next catch-up
  // took 165 s instead of a quarter of a second.
  const { rows } = await sql<{ count: string | number }>`with claimed as (
      delete from product_search_queue where ctid = any(array(
        select ctid from product_search_queue order by product_id limit ${limit} for update skip locked))
      returning product_id),
    ${writeEntries(sql`select product_id from claimed`)}
    select count(*) as count from claimed`.execute(db);
  return Number(rows[0]?.count ?? 0);
}

/** Common table expressions upserting the index entries of the products `ids` selects, from their current text. */
function writeEntries(ids: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`written as (
      insert into product_search (product_id, text, active)
      select p.id, ${sql.raw(INDEXED_TEXT_SQL)}, p.active
        from products p where p.id = any(array(${ids}))
        order by p.id
      on conflict (product_id) do update set text = excluded.text, active = excluded.active
      returning 1),
    named as (
      insert into product_search_name (product_id, name)
      select p.id, lower(p.name) from products p where p.id = any(array(${ids}))
        order by p.id
      on conflict (product_id) do update set name = excluded.name
      returning 1)`;
}
