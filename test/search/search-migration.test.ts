import { Migrator, sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { migrations } from '../../src/db/migrations/index.js';
import { createProductsService } from '../../src/products/products.service.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { createTestStore, testConfig, type TestStore } from '../support/test-app.js';

// Migration 0014: on PostgreSQL a product's index entry no longer holds its name's line ends as
// '\n' (the separator a `description` search looks for). An entry written before the upgrade,
// for a name with a line end, must not make a term of its name's second line a description match.

describeEachDialect('search index entries across migration 0014 on %s', (dialect) => {
  let store: TestStore | undefined;
  let database: Database | undefined;

  afterEach(async () => {
    await database?.close();
    await store?.drop();
  });

  it('keeps name and description apart for products indexed before the upgrade', async () => {
    store = await createTestStore(dialect);
    database = createDatabase(testConfig(store).database);
    const { db } = database;
    const schema = store.schema ?? undefined;
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema });
    const before = await migrator.migrateTo('0013_index_names_and_short_terms');
    expect(before.error).toBeUndefined();

    const now = new Date().toISOString();
    const row = (sku: string, name: string, description: string) => ({ sku, sku_key: sku.toLowerCase(), name, description, active: 1, created_at: now, updated_at: now });
    await db
      .insertInto('products')
      .values([row('TWO-LINES', 'Oak frame\nWindow seat', 'solid oak'), row('IN-TEXT', 'Bench', 'a window seat')])
      .execute();
    // As 0013's indexer left them: PostgreSQL's entries written from the fields as they are
    // (SQLite's indexer fills its own index from the rows marked by the insert).
    if (dialect === 'postgres') {
      await sql`insert into product_search (product_id, text)
        select id, lower(sku || E'\\n' || name || E'\\n' || coalesce(description, '')) from products`.execute(db);
      await sql`insert into product_search_name (product_id, name) select id, lower(name) from products`.execute(db);
      await sql`delete from product_search_queue`.execute(db);
    }

    await migrateToLatest(db);
    const indexer = database.dialect.searchIndex.openWriter(db);
    while ((await indexer.indexBatch(1000)).indexed > 0);
    await indexer.close();

    const products = createProductsService({ database });
    const skus = async (filter: Record<string, string>) => (await products.list({ ...filter, page_size: 10 })).items.map((item) => item.sku).sort();
    expect(await skus({ description: 'window' })).toEqual(['IN-TEXT']);
    expect(await skus({ description: 'seat' })).toEqual(['IN-TEXT']);
    expect(await skus({ name: 'window' })).toEqual(['TWO-LINES']);
    expect(await skus({ q: 'window seat' })).toEqual(['IN-TEXT', 'TWO-LINES']);
    expect(await skus({ q: 'frame\nwindow' })).toEqual(['TWO-LINES']);
  });
});
