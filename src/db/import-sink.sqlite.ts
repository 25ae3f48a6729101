import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';
import { IMPORT_WAL_AUTOCHECKPOINT_PAGES, openSqliteConnection } from './connection.sqlite.js';
import { SQLITE_INDEXED_COLUMNS } from './search-index.sqlite.js';
import { updatedColumns, type ImportedProduct, type BatchCheckpoint, type ImportSink, type SinkBatch, type SinkOptions } from './import-sink.js';

// SQLite: set-based writes on a connection of the import's own. Each batch goes into a
// temporary staging table, then one INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE changed
// moves it into products: a few statements per batch instead of one per row (row-by-row
// upserts top out at 45–75k rows/s here).

// The import's connection has a page cache of its own size (SinkOptions.pageCacheKib: ¼ of
// IMPORT_MEMORY_MB, 32 MiB by default). The cache fills as the database grows (256 MiB made the
// server's RSS reach 600+ MB, and more for 1M rows than for 500k). Measured on the 500k-row file,
// in-process: with 256 MiB 13–14 s, with 64 MiB 12–15 s, and with 64 MiB plus the checkpoint
// setting below 9–10 s; through the server with 32 MiB 9.7–10.8 s: what bounds this write is the
// per-batch commits (each rewrites most index pages into the WAL), not cache misses. The
// benchmark's sqlite3 floor uses the same size.
//
// Its temporary database (the staging table, the merge's sorter runs and its statement journal)
// lives in a temporary file behind a cache of SinkOptions.tempCacheKib (4 MiB by default), not in
// memory: the upsert's statement journal holds a copy of every existing page the statement
// changes (an ON CONFLICT DO UPDATE may abort half-way), tens of MB per batch and more as the
// table grows, and with `temp_store = MEMORY` those copies left the job thread's malloc arena at
// 77–128 MB resident; in a file they are the kernel's page cache. `bench:import`, the code before
// and after alternately, twice: peak RSS of a 500k import 301–381 -> 223–245 MB, for 8–15 % more
// time (docs/imports.md, "Memory").

export async function openSqliteSink(file: string, options: SinkOptions): Promise<ImportSink> {
  const connection = openSqliteConnection(file, { cacheKib: options.pageCacheKib });
  try {
    connection.pragma(`wal_autocheckpoint = ${IMPORT_WAL_AUTOCHECKPOINT_PAGES}`);
    connection.pragma('temp_store = FILE');
    connection.exec(`create temp table if not exists import_staging (
      pass integer not null, sku text not null, sku_key text not null, name text not null,
      description text, price_cents integer, active integer not null)`);
    connection.pragma(`temp.cache_size = -${options.tempCacheKib}`);
    return createSink(connection, options);
  } catch (error) {
    connection.close();
    throw error;
  }
}

function createSink(connection: BetterSqlite3.Database, { jobId, columns, clock }: SinkOptions): ImportSink {
  const changed = updatedColumns(columns);
  const isChanged = (column: string) => `products.${column} is not excluded.${column}`;
  // search_dirty (src/db/search-index.sqlite.ts): 1 = new, 2 = text changed; the background indexer
  // takes it from there, so the search index costs this statement one column.
  const textChanged = changed.filter((column) => SQLITE_INDEXED_COLUMNS.has(column)).map(isChanged).join(' or ');
  const upsert = (pass: number) =>
    connection.prepare(`insert into products (sku, sku_key, name, description, price_cents, active, created_at, updated_at, search_dirty)
      select sku, sku_key, name, description, price_cents, active, @now, @now, 1 from import_staging where pass = ${pass}
        order by sku_key -- walks the unique index (and, for new rows, the table) in order, as on PostgreSQL
      on conflict (sku_key) do update set ${changed.map((column) => `${column} = excluded.${column}`).join(', ')},
        updated_at = excluded.updated_at,
        search_dirty = case when ${textChanged} then 2 else products.search_dirty end
      where ${changed.map(isChanged).join(' or ')}`);
  const upsertFirsts = upsert(1);
  const upsertLasts = upsert(2);
  const stage = connection.prepare(
    'insert into import_staging (pass, sku, sku_key, name, description, price_cents, active) values (?, ?, ?, ?, ?, ?, ?)',
  );
  const clearStaging = connection.prepare('delete from import_staging');
  const lastId = connection.prepare('select seq from sqlite_sequence where name = ?').pluck();
  const countNewer = connection.prepare('select count(*) from products where id > ?').pluck();
  /** The checkpoint's statement is the same text every batch: prepared once. */
  const prepared = new Map<string, BetterSqlite3.Statement>();
  const runCompiled = (query: CompiledQuery) => {
    let statement = prepared.get(query.sql);
    if (!statement) prepared.set(query.sql, (statement = connection.prepare(query.sql)));
    statement.run(...(query.parameters as unknown[]));
  };
  const insertError = connection.prepare(
    'insert into job_errors (job_id, line, sku, field, message, raw) values (?, ?, ?, ?, ?, ?)',
  );

  const stageRows = (pass: number, rows: readonly ImportedProduct[]) => {
    for (const row of rows) stage.run(pass, row.sku, row.key, row.name, row.description, row.priceCents, row.active);
  };

  const begin = connection.prepare('begin immediate');
  const commit = connection.prepare('commit');
  const rollback = connection.prepare('rollback');
  const writeBatch = (batch: SinkBatch, checkpoint: BatchCheckpoint): void => {
    const now = new Date().toISOString();
    let startedAt = clock.now();
    clearStaging.run();
    stageRows(1, batch.firsts);
    stageRows(2, batch.lasts);
    clock.add('stage', startedAt);
    startedAt = clock.now();
    const idBefore = Number(lastId.get('products') ?? 0);
    const written = upsertFirsts.run({ now }).changes;
    const inserted = written === 0 ? 0 : Number(countNewer.get(idBefore));
    if (batch.lasts.length > 0) upsertLasts.run({ now });
    clock.add('merge', startedAt);
    startedAt = clock.now();
    const counts = { inserted, updated: written - inserted, unchanged: batch.firsts.length - written };
    runCompiled(checkpoint.statement(counts));
    for (const error of batch.errors) {
      insertError.run(jobId, error.line, error.sku, error.field, error.message, error.raw);
    }
    clock.add('checkpoint', startedAt);
  };

  let closed = false;
  return {
    async write(batch, checkpoint) {
      clock.time('commit', () => begin.run());
      try {
        writeBatch(batch, checkpoint);
        clock.time('commit', () => commit.run());
      } catch (error) {
        if (connection.inTransaction) rollback.run();
        throw error;
      }
      checkpoint.committed();
    },
    // Every batch is committed by its write. What the import left in the WAL is checkpointed here,
    // on the import's thread, not by the next commit on the API's (connection.sqlite.ts).
    flush: async () => {
      clock.time('commit', () => connection.pragma('wal_checkpoint(PASSIVE)'));
    },
    async close() {
      if (closed) return;
      closed = true;
      connection.close();
    },
  };
}
