import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createProductsService } from '../../src/products/products.service.js';
import { startSearchIndexer } from '../../src/search/search.indexer.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { openTestDatabase, type TestDatabase } from '../support/test-app.js';

// The background indexer and running jobs: it stays idle while a job runs (on PostgreSQL its GIN
// inserts slowed imports down; on SQLite its batches held the API's event loop), then catches up.
// Rows stay searchable meanwhile (search-maintenance).

describeEachDialect('search indexer while a job runs on %s', (dialect) => {
  let opened: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    opened = await openTestDatabase(dialect);
    database = opened.database;
  });
  afterAll(() => opened?.close());

  const unindexed = () => database.dialect.searchIndex.countUnindexed(database.db);

  it('stays idle while a job runs, and catches up once none does', async () => {
    const products = createProductsService({ database });
    for (const sku of ['IDLE-1', 'IDLE-2', 'IDLE-3']) await products.create({ sku, name: `Window ${sku}`, price: null });
    // API writes index themselves; emptied (as `npm run reindex` does), the index waits for the indexer.
    expect(await unindexed()).toBe(0);
    await database.dialect.searchIndex.reset(database.db);
    expect(await unindexed()).toBe(3);

    let running = true;
    let looks = 0;
    let lookedThrice: () => void = () => undefined;
    const thirdLook = new Promise<void>((resolve) => (lookedThrice = resolve));
    const indexer = startSearchIndexer({
      database,
      pollIntervalMs: 10,
      jobRunning: async () => {
        looks += 1;
        if (looks === 3) lookedThrice();
        return running;
      },
    });
    try {
      // It asks before every batch: three looks while the job runs, and nothing was indexed.
      await thirdLook;
      expect(await unindexed()).toBe(3);
      running = false;
      await indexer.whenCaughtUp();
      expect(await unindexed()).toBe(0);
    } finally {
      await indexer.close();
    }
  });
});
