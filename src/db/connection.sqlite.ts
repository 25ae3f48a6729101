import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

/** Pragmas every SQLite connection of ours runs with. */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'busy_timeout = 10000',
  'foreign_keys = ON',
  'cache_size = -65536',
];

export function openSqliteConnection(file: string, options: { readonly?: boolean } = {}): BetterSqlite3.Database {
  if (!options.readonly) fs.mkdirSync(path.dirname(file), { recursive: true });
  const connection = new BetterSqlite3(file, { readonly: options.readonly ?? false });
  for (const pragma of SQLITE_PRAGMAS) {
    if (options.readonly && pragma.startsWith('journal_mode')) continue;
    connection.pragma(pragma);
  }
  return connection;
}
