import { loadConfigOrExit } from './config.js';
import { createDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';

/** `npm run migrate`: applies pending migrations and reports each one. */
const config = loadConfigOrExit();
const database = createDatabase(config.database);
try {
  const results = await migrateToLatest(database.db);
  for (const result of results) console.log(`${result.status}: ${result.migrationName}`);
  console.log(results.length === 0 ? 'Database is up to date.' : `Applied ${results.length} migration(s).`);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
} finally {
  await database.close();
}
