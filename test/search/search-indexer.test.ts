import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createProductsService } from '../../src/products/products.service.js';
import { startSearchIndexer } from '../../src/search/search.indexer.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { openTestDatabase, type TestDatabase } from '../support/test-app.js';

// The background indexer and running jobs: on PostgreSQL it stays idle while a job runs (its GIN
// inserts slowed imports down), then catches up; on SQLite it keeps indexing (short batches that
// rest as long as they held the write lock). Rows stay searchable either way (search-maintenance).

describeEachDialect('search indexer while a job runs on %s', (dialect) => {
  let opened: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    opened = await openTestDatabase(dialect);
    database = opened.database;
  });
  afterAll(() => opened?.close());

  const unindexed = () => database.dialect.searchIndex.countUnindexed(database.db);

  it(dialect === 'postgres' ? 'stays idle while a job runs, and catches up once none does' : 'keeps indexing while a job runs', async () => {
    const products = createProductsService({ database });
    for (const sku of ['IDLE-1', 'IDLE-2', 'IDLE-3']) await products.create({ sku, name: `Window ${sku}`, price: null });
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
      if (dialect === 'postgres') {
        // It asks before every batch: three looks while the job runs, and nothing was indexed.
        await thirdLook;
        expect(await unindexed()).toBe(3);
        running = false;
      }
      await indexer.whenCaughtUp();
      expect(await unindexed()).toBe(0);
      if (dialect === 'sqlite') expect(looks).toBe(0);
    } finally {
      await indexer.close();
    }
  });
});
