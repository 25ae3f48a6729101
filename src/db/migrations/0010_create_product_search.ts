import { sql, type Kysely } from 'kysely';
import { isPostgres } from './migration-helpers.js';

// A search index for the product list's text filters, kept in a table of its own: trigram
// indexes on products itself were measured to make imports 6× (PostgreSQL) to 15× (SQLite)
// slower. Imports only mark what they wrote; a background indexer moves it into the index.
//
// SQLite: `products.search_dirty` (1 = not yet in the index; the import sets it in its upsert)
// with a partial index to find those rows, and `product_search`, an FTS5 table with the trigram
// tokenizer, contentless (the text is read from products when verifying a match) and without
// positions (detail=none: 2.5× faster to fill; a term's trigrams are looked up together and
// every candidate is verified against the product row anyway).
//
// PostgreSQL: `product_search_queue` (ids the import wrote, appended by the import's upsert
// statement itself; a column on products would cost every indexed row a second, non-HOT
// update), and `product_search (product_id, text)` holding the lower-cased text with a pg_trgm
// GIN index. pg_trgm is created in schema public when the role may (it is a trusted extension);
// otherwise the table is still kept and searched by a scan of its lower-cased text.

export async function up(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) await createPostgresSearch(db);
  else await createSqliteSearch(db);
}

async function createSqliteSearch(db: Kysely<any>): Promise<void> {
  // Every existing row starts dirty: the indexer fills the index after the upgrade.
  await sql`alter table products add column search_dirty integer not null default 1`.execute(db);
  await sql`create index products_search_dirty_idx on products (id) where search_dirty > 0`.execute(db);
  await sql`create virtual table product_search using fts5(
    text, tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1, detail = none)`.execute(db);
  await sql`create trigger products_search_after_delete after delete on products begin
    delete from product_search where rowid = old.id;
  end`.execute(db);
}

async function createPostgresSearch(db: Kysely<any>): Promise<void> {
  await sql`create table product_search_queue (product_id bigint primary key)`.execute(db);
  await sql`insert into product_search_queue (product_id) select id from products`.execute(db);
  await sql`create table product_search (
    product_id bigint primary key references products (id) on delete cascade,
    text text not null
  )`.execute(db);
  const trigramSchema = await ensurePgTrgm(db);
  if (trigramSchema) {
    await sql`create index product_search_text_trgm_idx on product_search
      using gin (text ${sql.id(trigramSchema)}.gin_trgm_ops)`.execute(db);
  }
}

/** The schema holding pg_trgm, installing it in public when missing and allowed; null if unavailable. */
async function ensurePgTrgm(db: Kysely<any>): Promise<string | null> {
  // Concurrent migrations (tests, several servers) would race to create the extension.
  await sql`select pg_advisory_xact_lock(hashtext('product_importer.pg_trgm'))`.execute(db);
  const installed = async () =>
    (await sql<{ schema: string }>`select n.nspname as schema from pg_extension e
      join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`.execute(db)).rows[0]?.schema ?? null;
  const existing = await installed();
  if (existing) return existing;
  await sql`savepoint create_pg_trgm`.execute(db);
  try {
    await sql`create extension if not exists pg_trgm schema public`.execute(db);
    await sql`release savepoint create_pg_trgm`.execute(db);
  } catch {
    // Not allowed (no CREATE on the database, no schema public): search works without the index.
    await sql`rollback to savepoint create_pg_trgm`.execute(db);
  }
  return installed();
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql`drop table product_search`.execute(db);
    await sql`drop table product_search_queue`.execute(db);
    return;
  }
  await sql`drop trigger products_search_after_delete`.execute(db);
  await sql`drop table product_search`.execute(db);
  await sql`drop index products_search_dirty_idx`.execute(db);
  await sql`alter table products drop column search_dirty`.execute(db);
}
