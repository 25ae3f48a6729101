import { sql, type Kysely } from 'kysely';
import { isPostgres } from './migration-helpers.js';

// PostgreSQL: each text index entry keeps its product's `active`, so a search filtered by it
// counts from the index alone. Before, every hit was looked up in products for `active` alone
// (`q=window&active=true`: ~11k rows read for a count that stops at 10,001).
//
// Entries written before have none (null): a search checks those on the product row, as before,
// until the indexer writes them again (an import's or an API write's change, or `npm run
// reindex`). Filling them here would rewrite every entry and its trigrams (a million at 1M).
//
// SQLite's index checks every candidate on the product row: nothing changes there.

export async function up(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`alter table product_search add column active integer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`alter table product_search drop column active`.execute(db);
}
