import { loadConfigOrExit } from './config.js';
import { createDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';
import { rebuildSearchIndex } from './search/search.reindex.js';

/** `npm run reindex`: rebuilds the product search index from scratch (the server may keep running). */
const config = loadConfigOrExit();
const database = createDatabase(config.database);
try {
  await migrateToLatest(database.db);
  const started = performance.now();
  let reported = 0;
  const indexed = await rebuildSearchIndex(database, (done, total) => {
    if (done - reported >= 100_000 || done === total) {
      reported = done;
      console.log(`indexed ${done} of ${total}`);
    }
  });
  console.log(`Search index rebuilt: ${indexed} products in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
} finally {
  await database.close();
}
