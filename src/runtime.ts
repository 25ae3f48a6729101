import type { Config } from './config.js';
import { createDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrator.js';
import { closeInOrder, once, type Closable } from './shared/shutdown.js';

/**
 * The long-lived components of one process, opened from configuration and
 * closed in order after the HTTP server: workers, queue, database.
 */
export interface Runtime {
  config: Config;
  database: Database;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, onCloseError: (name: string, error: unknown) => void = () => undefined): Promise<Runtime> {
  const database = createDatabase(config.database);
  try {
    await migrateToLatest(database.db);
  } catch (error) {
    await database.close();
    throw error;
  }
  const resources: Closable[] = [{ name: 'database', close: () => database.close() }];
  return { config, database, close: once(() => closeInOrder(resources, onCloseError)) };
}
