import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DEFAULT_IMPORT_MEMORY_MB, importMemoryShares } from '../config.js';

/** Pragmas every SQLite connection of ours runs with (and its page cache: see openSqliteConnection). */
export const SQLITE_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', 'busy_timeout = 10000', 'foreign_keys = ON'];

/**
 * A connection with our pragmas and a page cache of `cacheKib` (importMemoryShares says how much:
 * 64 MiB on each of the process's connections made the server's RSS 340+ MB after a 500k import,
 * the search indexer's filled as it caught up; the API's is emptied by every commit of an import anyway).
 */
export function openSqliteConnection(file: string, options: { readonly?: boolean; cacheKib?: number } = {}): BetterSqlite3.Database {
  if (!options.readonly) fs.mkdirSync(path.dirname(file), { recursive: true });
  const connection = new BetterSqlite3(file, { readonly: options.readonly ?? false });
  for (const pragma of SQLITE_PRAGMAS) {
    if (options.readonly && pragma.startsWith('journal_mode')) continue;
    connection.pragma(pragma);
  }
  connection.pragma(`cache_size = -${options.cacheKib ?? importMemoryShares(DEFAULT_IMPORT_MEMORY_MB).connectionCacheKib}`);
  return connection;
}
