import { sql, type Kysely } from 'kysely';
import { isPostgres } from './migration-helpers.js';

// Two more things the search index answers without reading every candidate product:
//
// - The `name` filter from an index of the names alone: the whole text's index gave every row
//   holding the term in any field (`name=window`: 22k rows read, 3.2k names holding it).
//   SQLite: `product_search_name`, like product_search; PostgreSQL: `product_search_name
//   (product_id, name)` holding lower(name) with a pg_trgm GIN index, written by the same
//   indexer statement as product_search.
// - SQLite: terms of 1–2 characters looked up instead of scanning every product (0.7–0.9 s at 1M
//   for a rare one). Each indexed text now ends in two line ends, so every character of the
//   fields starts a trigram and a short term is the prefix of one wherever it occurs; the
//   `*_vocab` tables list an index's trigrams, in order, so those a term begins are a range.
//
// SQLite's entries written before have neither: every product is marked and the background
// indexer fills both indexes again (searches stay exact meanwhile, only slower). PostgreSQL's
// names are copied here.

export async function up(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) await upPostgres(db);
  else await upSqlite(db);
}

async function upSqlite(db: Kysely<any>): Promise<void> {
  await sql`create virtual table product_search_name using fts5(
    name, tokenize = 'trigram case_sensitive 1', content = '', contentless_delete = 1, detail = none)`.execute(db);
  await sql`create virtual table product_search_vocab using fts5vocab(product_search, 'row')`.execute(db);
  await sql`create virtual table product_search_name_vocab using fts5vocab(product_search_name, 'row')`.execute(db);
  await sql`drop trigger products_search_after_delete`.execute(db);
  await sql`create trigger products_search_after_delete after delete on products begin
    delete from product_search where rowid = old.id;
    delete from product_search_name where rowid = old.id;
  end`.execute(db);
  await sql`insert into product_search (product_search) values ('delete-all')`.execute(db);
  await sql`update products set search_dirty = 1 where search_dirty <> 1`.execute(db);
}

async function upPostgres(db: Kysely<any>): Promise<void> {
  await sql`create table product_search_name (
    product_id bigint primary key references products (id) on delete cascade,
    name text not null
  )`.execute(db);
  // pg_trgm as migration 0010 found it: without it the names are scanned (exact, slower).
  const { rows } = await sql<{ schema: string }>`select n.nspname as schema from pg_extension e
    join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`.execute(db);
  const trigramSchema = rows[0]?.schema;
  // Filled here, as the indexer would (rows still queued are indexed again, names included);
  // the GIN index is built once, after.
  await sql`insert into product_search_name (product_id, name) select id, lower(name) from products`.execute(db);
  if (trigramSchema) {
    await sql`create index product_search_name_trgm_idx on product_search_name
      using gin (name ${sql.id(trigramSchema)}.gin_trgm_ops)`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (isPostgres(db)) {
    await sql`drop table product_search_name`.execute(db);
    return;
  }
  // The entries with the line ends still answer longer terms as before.
  await sql`drop trigger products_search_after_delete`.execute(db);
  await sql`create trigger products_search_after_delete after delete on products begin
    delete from product_search where rowid = old.id;
  end`.execute(db);
  await sql`drop table product_search_name_vocab`.execute(db);
  await sql`drop table product_search_vocab`.execute(db);
  await sql`drop table product_search_name`.execute(db);
}
