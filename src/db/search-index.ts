import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import { openSqliteConnection, type Database } from './database.js';
import type { Tables } from './database.schema.js';
import { escapeLike, isPostgres } from './sql-fragments.js';

// The product search index (migration 0010), the one place that knows how each database keeps it.
//
// What it answers is a superset: the ids of products whose text *may* contain a term, that is
// those the index finds plus every product written since it was last indexed. Callers verify
// each candidate with the real predicate (sql-fragments' containsInsensitive) on the product
// row, so the answer is exact whatever the indexer's progress, and whatever the index's own
// notion of case or of word boundaries.
//
// SQLite: FTS5 trigram (case-sensitive) over text folded here, in JavaScript, the way the
// predicate folds it; products.search_dirty marks rows to (re)index: 1 = written, never indexed
// (the import's INSERT), 2 = changed since indexed (its UPDATE: the old entry must go).
// PostgreSQL: product_search(product_id, text) holding lower(text) with a pg_trgm GIN index (the
// same lower() ILIKE applies), and product_search_queue holding the ids to (re)index.

/** Terms shorter than this (in characters) have no trigram: SQLite answers them by a scan. */
export const MIN_INDEXED_TERM_LENGTH = 3;

/**
 * Lower-cases character by character, as the predicate compares (a text character matches a
 * term character when their lower-case forms are equal). String.prototype.toLowerCase is that,
 * except for its one context-dependent rule (final sigma: 'Σ' -> 'ς' at a word's end, 'σ' elsewhere).
 */
export function foldForSearch(text: string): string {
  if (!text.includes('Σ')) return text.toLowerCase();
  let folded = '';
  for (const char of text) folded += char.toLowerCase();
  return folded;
}

/** The indexed text of a product: its searchable fields, folded, one per line. */
function searchTextOf(row: { sku: string; name: string; description: string | null }): string {
  return `${foldForSearch(row.sku)}\n${foldForSearch(row.name)}\n${foldForSearch(row.description ?? '')}`;
}

/** The term's distinct trigrams as an FTS5 query: each quoted, all required. */
function trigramQuery(folded: string): string {
  const chars = [...folded];
  const trigrams = new Set<string>();
  for (let start = 0; start + 3 <= chars.length; start += 1) trigrams.add(chars.slice(start, start + 3).join(''));
  return [...trigrams].map((trigram) => `"${trigram.replace(/"/g, '""')}"`).join(' AND ');
}

/**
 * `products.id` is among the candidates for `term`: indexed rows the index finds, plus the rows
 * not indexed yet. Null when the index cannot narrow the search (SQLite, terms under 3 characters):
 * the caller scans. Always combine with the exact predicate.
 */
export function searchCandidates(db: Kysely<Tables>, term: string): Expression<SqlBool> | null {
  if (isPostgres(db)) {
    // The GIN index serves terms of 3+ characters; shorter ones scan the folded text, which
    // is still several times faster than ILIKE over three columns.
    // = any(array(…)): the candidates are gathered once, then looked up by primary key. As a
    // plain IN, stale statistics (right after an import) made the planner rescan the index
    // table once per product (measured: 30 s for 10k rows).
    const pattern = `%${escapeLike(term)}%`;
    return sql<SqlBool>`products.id = any(array(
      select product_id from product_search where text like lower(${pattern}) escape '\\'
      union all select product_id from product_search_queue))`;
  }
  const folded = foldForSearch(term);
  if ([...folded].length < MIN_INDEXED_TERM_LENGTH) return null;
  return sql<SqlBool>`products.id in (
    select rowid from product_search where product_search match ${trigramQuery(folded)}
    union all select id from products where search_dirty > 0)`;
}

/**
 * Marks products for re-indexing after their text changed through the API (their search stays
 * exact meanwhile: unindexed rows are always candidates). Call inside the write's transaction.
 */
export async function markForSearchIndexing(db: Kysely<Tables>, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  if (isPostgres(db)) {
    // DO UPDATE (not DO NOTHING) takes the row lock, so a write never slips past an indexer
    // that has claimed this id but read the text before the write (see indexPostgresBatch).
    await sql`insert into product_search_queue (product_id) select unnest(${[...ids]}::bigint[])
      on conflict (product_id) do update set product_id = excluded.product_id`.execute(db);
    return;
  }
  await sql`update products set search_dirty = 2 where id in (${sql.join([...ids])})`.execute(db);
}

/** How many products are waiting to be indexed. */
export async function countUnindexedProducts(db: Kysely<Tables>): Promise<number> {
  const query = isPostgres(db)
    ? sql<{ count: string | number }>`select count(*) as count from product_search_queue`
    : sql<{ count: number }>`select count(*) as count from products where search_dirty > 0`;
  const { rows } = await query.execute(db);
  return Number(rows[0]?.count ?? 0);
}

/** Empties the index and marks every product for indexing (`npm run reindex`). */
export async function resetSearchIndex(db: Kysely<Tables>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (isPostgres(db)) {
      await sql`delete from product_search`.execute(trx);
      await sql`insert into product_search_queue (product_id) select id from products
        on conflict (product_id) do nothing`.execute(trx);
    } else {
      await sql`insert into product_search (product_search) values ('delete-all')`.execute(trx);
      await sql`update products set search_dirty = 1 where search_dirty = 0`.execute(trx);
    }
  });
}

export interface IndexBatchResult {
  /** Products taken from the queue (indexed, or dropped when deleted meanwhile). */
  indexed: number;
  /** SQLite: another connection held the write lock, so nothing was done (try again shortly). */
  busy: boolean;
}

export interface SearchIndexWriter {
  /**
   * How long one batch should take. SQLite: short, as a batch holds the database's only write
   * lock (imports and API writes wait meanwhile). PostgreSQL: longer batches cost no one a wait
   * (rows are locked one by one) and feed the GIN index in fewer, larger steps.
   */
  readonly targetBatchMs: number;
  /** Indexes up to `limit` waiting products in one transaction. */
  indexBatch(limit: number): Promise<IndexBatchResult>;
  /** Idempotent. */
  close(): Promise<void>;
}

/**
 * The background indexer's writer. SQLite: a connection of its own that never waits for the
 * write lock (busy_timeout 0: a busy database answers `busy` at once instead of blocking the
 * event loop behind an import's batch). PostgreSQL: the pool.
 */
export function openSearchIndexWriter(database: Database): SearchIndexWriter {
  if (database.config.dialect === 'sqlite') return openSqliteIndexWriter(database.config.file);
  const { db } = database;
  return { targetBatchMs: 250, indexBatch: (limit) => indexPostgresBatch(db, limit), close: async () => undefined };
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
  // queued again when it commits), read their text, upsert it. A writer that changes a
  // claimed product after this read re-queues it (markForSearchIndexing and the import's
  // upsert wait for this statement's row locks), so the next batch indexes the new text.
  const { rows } = await sql<{ count: string | number }>`with claimed as (
      delete from product_search_queue where product_id in (
        select product_id from product_search_queue order by product_id limit ${limit} for update skip locked)
      returning product_id),
    written as (
      insert into product_search (product_id, text)
      select p.id, lower(p.sku || E'\\n' || p.name || E'\\n' || coalesce(p.description, ''))
        from products p where p.id = any(array(select product_id from claimed))
        order by p.id
      on conflict (product_id) do update set text = excluded.text
      returning 1)
    select count(*) as count from claimed`.execute(db);
  return Number(rows[0]?.count ?? 0);
}

interface DirtyRow {
  id: number;
  sku: string;
  name: string;
  description: string | null;
  search_dirty: number;
}

function openSqliteIndexWriter(file: string): SearchIndexWriter {
  const connection = openSqliteConnection(file);
  connection.pragma('busy_timeout = 0');
  const selectDirty = connection.prepare<[number], DirtyRow>(
    'select id, sku, name, description, search_dirty from products where search_dirty > 0 order by id limit ?',
  );
  const deleteEntry = connection.prepare('delete from product_search where rowid = ?');
  const insertEntry = connection.prepare('insert into product_search (rowid, text) values (?, ?)');
  const markClean = connection.prepare('update products set search_dirty = 0 where id = ?');
  const anyDirty = connection.prepare('select 1 from products where search_dirty > 0 limit 1').pluck();
  const indexRows = connection.transaction((limit: number) => {
    const rows = selectDirty.all(limit);
    for (const row of rows) {
      if (row.search_dirty === 2) deleteEntry.run(row.id);
      insertEntry.run(row.id, searchTextOf(row));
      markClean.run(row.id);
    }
    return rows.length;
  });
  let closed = false;
  return {
    targetBatchMs: 25,
    async indexBatch(limit) {
      // Look with a read first (never waits in WAL mode): an idle poll takes no write lock.
      if (anyDirty.get() === undefined) return { indexed: 0, busy: false };
      try {
        return { indexed: indexRows.immediate(limit), busy: false };
      } catch (error) {
        if (isSqliteBusy(error)) return { indexed: 0, busy: true };
        throw error;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      connection.close();
    },
  };
}

function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT';
}
