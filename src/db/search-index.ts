import { sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { Executor, Tables } from './database.schema.js';

// The product search index (migration 0010): what every database's index answers. How each
// keeps it: search-index.sqlite.ts, search-index.postgres.ts (handed out by the SqlDialect).
//
// What it answers is the product rows whose text *may* contain a term: those the index finds
// plus, while no job runs, every product an import wrote since the indexer last reached it, each
// once. Where the index's answer is exactly the `q` predicate (PostgreSQL: its text is
// lower(sku‖'\n'‖name‖'\n'‖description), and ILIKE is lower() on both sides) it says so, and
// callers skip the check; otherwise they verify each candidate with the real predicate
// (SqlDialect.containsInsensitive) on the row, so the answer is exact whatever the indexer's
// progress and the index's own notion of case.
//
// While a job runs, the rows an import wrote and the indexer has not reached yet are not checked
// one by one (during a 500k import that was up to 500k rows a search, p99 0.7 s on PostgreSQL):
// they are found through their entries from before the import, checked on the row (a changed
// text by the words it kept; its new words, and new rows, once no job runs). API
// writes are indexed in their own transaction (indexNow), so they never wait for the indexer.

/**
 * True while a job runs (a condition for a candidates subquery, evaluated once per statement, in
 * its snapshot): the rows an import is writing are then not checked one by one.
 */
export const JOB_RUNNING = sql<SqlBool>`exists (select 1 from jobs where status = 'running')`;

export interface SearchCandidates {
  /**
   * A subquery yielding the candidate rows with every column of products, each row once; select
   * from it aliased as `products`. Yielded as they are found (no sort, no gathering), so a count
   * that stops after n matches reads about n index entries.
   */
  rows: RawBuilder<unknown>;
  /** The ids of those rows alone (column `id`), for a count that needs nothing else of the products. */
  ids: RawBuilder<unknown>;
  /**
   * The same candidates as a condition on `products.id`, for a field filter (`name`, `description`)
   * that keeps few of them: SQLite's `id in (…)` walks the sorted ids and stops at a sorted page's
   * end; on `rows`, PostgreSQL's planner scanned every product's name instead (1.9 s at 1M).
   */
  membership: Expression<SqlBool>;
  /**
   * Every row yielded holds the term where the scope says (`any`: its sku, name or description,
   * the `q` filter; `name` and `description`: that field, its filter), as containsInsensitive
   * decides: that filter needs no further check (the others still do).
   */
  exact: boolean;
  /**
   * No index narrows the term (PostgreSQL, 1–2 characters: pg_trgm has no trigram for it), so
   * reading the candidates reads every product: the caller reads them once.
   */
  readsEveryRow: boolean;
  /**
   * Every row yielded has the `active` asked for (PostgreSQL's text index keeps each product's
   * `active`): that filter needs no further check. False when none was asked, or the index
   * cannot answer it (SQLite; PostgreSQL's names index).
   */
  filtersActive: boolean;
}

/** Where a term is looked for: in any searchable field (`q`), or in one field alone (its filter). */
export type SearchScope = 'any' | 'name' | 'description';

export interface SearchIndex {
  /** The columns of products the index holds: a write that changes one of them re-indexes the product. */
  readonly indexedColumns: ReadonlySet<string>;
  /**
   * The candidates for `term` in `scope`, only those with `active` when the index can tell
   * (`filtersActive`); SQLite looks up a short term's trigrams in `db` first. Null when the index
   * cannot narrow the search: the caller scans products.
   */
  candidates(db: Executor, term: string, scope: SearchScope, active?: boolean): Promise<SearchCandidates | null>;
  /**
   * Indexes products an API write created or whose text or `active` it changed, inside that
   * write's transaction: the very next search finds them through the index, whether a job runs or not.
   */
  indexNow(db: Executor, ids: readonly number[]): Promise<void>;
  /**
   * Whether a search now leaves rows out: a job runs and products wait to be indexed (see
   * JOB_RUNNING). The list says so (`search_complete: false`).
   */
  skipsUnindexedRows(db: Executor): Promise<boolean>;
  /** How many products are waiting to be indexed. */
  countUnindexed(db: Executor): Promise<number>;
  /** Empties the index and marks every product for indexing (`npm run reindex`). */
  reset(db: Kysely<Tables>): Promise<void>;
  /**
   * The background indexer's writer. SQLite: a connection of its own that never waits for the
   * write lock (busy_timeout 0: a busy database answers `busy` at once instead of blocking the
   * event loop behind an import's batch). PostgreSQL: `db`'s pool.
   */
  openWriter(db: Kysely<Tables>): SearchIndexWriter;
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
  /**
   * How long to rest after a batch, as a multiple of the time it took. SQLite: 1 — a writer
   * waiting for the lock (busy_timeout) only looks again every few to 100 ms, so an indexer that
   * took the lock back at once would starve it until it fails with SQLITE_BUSY; resting as long as
   * it held the lock lets every waiter in. PostgreSQL: 0 (row locks: no one waits for the batch).
   */
  readonly restRatio: number;
  /** Indexes up to `limit` waiting products in one transaction. */
  indexBatch(limit: number): Promise<IndexBatchResult>;
  /**
   * Called when batches that indexed products have left nothing waiting. PostgreSQL vacuums the
   * queue: every search asks whether it holds anything, and stepped over the dead rows of the
   * last catch-up to answer (6–14 ms a statement during the next import). SQLite: nothing to do.
   */
  caughtUp(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}
