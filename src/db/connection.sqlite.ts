import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DEFAULT_IMPORT_MEMORY_MB, importMemoryShares } from '../config.js';

/** How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/** Pragmas every SQLite connection of ours runs with (and its page cache: see openSqliteConnection). */
export const SQLITE_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', `busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`, 'foreign_keys = ON'];

/**
 * A write of the API meeting another connection's write lock tries again at least this often
 * (sqlite-driver.ts), and an import's writer leaves the lock free for SQLITE_LOCK_GAP_MS between
 * its batches (import-sink.sqlite-writer.ts): so the write gets in after the batch in progress.
 */
export const SQLITE_LOCK_RETRY_MS = 4;
export const SQLITE_LOCK_GAP_MS = 10;

/**
 * WAL pages before the import's connection checkpoints (SQLite's default is 1,000 = 4 MiB, so
 * each 20k-row batch, which dirties most index pages, was followed by a checkpoint with an
 * fsync): 64 MiB saves ~3 s per 500k rows. The WAL file is reset at the next checkpoint.
 */
export const IMPORT_WAL_AUTOCHECKPOINT_PAGES = 16_384;

/**
 * WAL pages before a connection of the API checkpoints while another connection writes
 * (sqlite-driver.ts): more than an import's commit leaves (its threshold plus a batch's pages), so
 * that during an import its own connection, on its own thread, checkpoints first. With SQLite's
 * default (1,000 pages) the API's first commit after each of the import's copied the import's
 * pages on the API's thread: with a PATCH every 500 ms during a 500k import, the list's p99 was
 * 56–139 ms, and 15–28 ms with this.
 */
export const API_WAL_AUTOCHECKPOINT_PAGES = 2 * IMPORT_WAL_AUTOCHECKPOINT_PAGES;

/**
 * A connection with our pragmas and a page cache of `cacheKib` (importMemoryShares says how much:
 * 64 MiB on each of the process's connections made the server's RSS 340+ MB after a 500k import,
 * the search indexer's filled as it caught up; the API's is emptied by every commit of an import anyway).
 */
export function openSqliteConnection(file: string, options: { readonly?: boolean; cacheKib?: number; mapBytes?: number } = {}): BetterSqlite3.Database {
  if (!options.readonly) fs.mkdirSync(path.dirname(file), { recursive: true });
  const connection = new BetterSqlite3(file, { readonly: options.readonly ?? false });
  for (const pragma of SQLITE_PRAGMAS) {
    if (options.readonly && pragma.startsWith('journal_mode')) continue;
    connection.pragma(pragma);
  }
  connection.pragma(`cache_size = -${options.cacheKib ?? importMemoryShares(DEFAULT_IMPORT_MEMORY_MB).connectionCacheKib}`);
  // Reads through a memory map of this many bytes of the file (database.ts, DatabaseOptions.mapReads).
  if (options.mapBytes) connection.pragma(`mmap_size = ${options.mapBytes}`);
  return connection;
}

/** True when SQLite answered that another connection holds the lock a statement needs. */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT';
}
