import type { Database } from '../db/database.js';

/** Products indexed per transaction by a rebuild (it runs alone: larger batches than the background indexer's). */
const REBUILD_BATCH = 5_000;

/**
 * Rebuilds the search index from scratch: empties it and marks every product, then indexes
 * them all. A rebuild stopped half-way leaves marks behind, which the background indexer (or
 * the next rebuild) finishes from. Reports progress as (indexed so far, products to index).
 */
export async function rebuildSearchIndex(database: Database, onProgress: (indexed: number, total: number) => void = () => undefined): Promise<number> {
  const { searchIndex } = database.dialect;
  await searchIndex.reset(database.db);
  const total = await searchIndex.countUnindexed(database.db);
  const writer = searchIndex.openWriter(database.db);
  let indexed = 0;
  try {
    for (;;) {
      const batch = await writer.indexBatch(REBUILD_BATCH);
      if (batch.busy) {
        await new Promise((resolve) => setTimeout(resolve, 50)); // another writer holds SQLite's lock
        continue;
      }
      if (batch.indexed === 0) break;
      indexed += batch.indexed;
      onProgress(indexed, total);
    }
  } finally {
    await writer.close();
  }
  return indexed;
}
