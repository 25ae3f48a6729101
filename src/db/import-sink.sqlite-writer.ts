import { parentPort } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { PhaseClock } from '../shared/phase-clock.js';
import { IMPORT_WAL_AUTOCHECKPOINT_PAGES, SQLITE_LOCK_GAP_MS, openSqliteConnection } from './connection.sqlite.js';
import { updatedColumns, type PresentColumns, type RejectedRow, type WriteCounts } from './import-sink.js';

// The thread that writes a SQLite import's batches (import-sink.sqlite-thread.ts, started by
// import-sink.sqlite.ts, which speaks to it in the messages below). better-sqlite3 is synchronous:
// on the job thread each batch's write held the parse of the next one; here the two overlap. The
// job thread stages each batch in a file of its own (two, in turns: "lanes"), attached here.
//
// Set-based writes: one INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE changed moves a staged
// batch into products: a few statements per batch instead of one per row (row-by-row upserts top
// out at 45–75k rows/s here).
//
// The connection has a page cache of its own size (MemoryShares.pageCacheKib: ¼ of
// IMPORT_MEMORY_MB, 32 MiB by default). The cache fills as the database grows (256 MiB made the
// server's RSS reach 600+ MB, and more for 1M rows than for 500k). Measured on the 500k-row file,
// in-process: with 256 MiB 13–14 s, with 64 MiB 12–15 s, and with 64 MiB plus the checkpoint
// setting below 9–10 s; through the server with 32 MiB 9.7–10.8 s: what bounds this write is the
// per-batch commits (each rewrites most index pages into the WAL), not cache misses. The
// benchmark's sqlite3 floor uses the same size.
//
// Its temporary database (the merge's sorter runs and its statement journal) lives in a temporary
// file behind a cache of MemoryShares.tempCacheKib (4 MiB by default), not in memory: the upsert's
// statement journal holds a copy of every existing page the statement changes (an ON CONFLICT DO
// UPDATE may abort half-way), tens of MB per batch and more as the table grows, and with
// `temp_store = MEMORY` those copies left the thread's malloc arena at 77–128 MB resident; in a
// file they are the kernel's page cache. `bench:import`, the code before and after alternately,
// twice: peak RSS of a 500k import 301–381 -> 223–245 MB, for 8–15 % more time (docs/imports.md,
// "Memory").

/** What an import's writer is opened with. */
export interface WriterSettings {
  file: string;
  jobId: string;
  columns: PresentColumns;
  /** The product columns the search index holds (SearchIndex.indexedColumns): a change to one marks the product for the indexer. */
  indexedColumns: readonly string[];
  pageCacheKib: number;
  tempCacheKib: number;
  /** The staging files the job thread fills in turns (STAGING_TABLE in each), each attached for the transaction of a batch staged in it. */
  lanes: readonly string[];
}

/**
 * The table of a staging file: a batch's rows, `pass` 1 for the first row of each key, 2 for the
 * last of a repeated key (unique within a pass). Kept in (pass, key) order, so the upsert walks it
 * in the order it writes instead of sorting each batch.
 */
export const STAGING_TABLE = `import_staging (
  pass integer not null, sku_key text not null, sku text not null, name text not null,
  description text, price_cents integer, active integer not null,
  primary key (pass, sku_key)) without rowid`;

/**
 * From the job thread, in order: an import's `open`, its writes, flushes and `close`. A `write`
 * (of the batch staged in a lane) is answered by `counts`; the job thread then sends its
 * checkpoint's statement (`checkpoint`, committed with the batch) or, when it could not build
 * one (it then fails the import's writes itself), `abandon` (rolled back, unanswered).
 */
export type WriterCommand =
  | { type: 'open'; settings: WriterSettings }
  | { type: 'write'; lane: number; firsts: number; lasts: number; errors: RejectedRow[] }
  | { type: 'checkpoint'; sql: string; parameters: readonly unknown[] }
  | { type: 'abandon' }
  | { type: 'flush' }
  | { type: 'close' };

/** A failure as it crosses threads (an Error's class does not). */
export interface WriterFailure {
  name: string;
  message: string;
  code?: string;
}

export type WriterReply =
  | { type: 'opened' }
  | { type: 'counts'; counts: WriteCounts }
  | { type: 'committed' }
  | { type: 'flushed' }
  | { type: 'failed'; failure: WriterFailure }
  | { type: 'closed'; phases: Record<string, number> };

/** The synchronous writes of one import, on one connection. */
interface BatchWriter {
  /** Begins the batch's transaction and upserts the products staged in `lane`: the outcome of its `firsts` (first rows of their keys). */
  merge(lane: number, firsts: number, lasts: number): WriteCounts;
  /** Saves the checkpoint and the rejected rows, then commits. */
  commit(checkpoint: { sql: string; parameters: readonly unknown[] }, errors: readonly RejectedRow[]): void;
  /** Rolls back a transaction left open (and lets go of its lane). */
  rollback(): void;
  /** Checkpoints what the import left in the WAL, here rather than in the next commit on the API's thread (connection.sqlite.ts). */
  checkpointWal(): void;
  close(): void;
}

function openBatchWriter(settings: WriterSettings, clock: PhaseClock): BatchWriter {
  const connection = openSqliteConnection(settings.file, { cacheKib: settings.pageCacheKib });
  try {
    connection.pragma(`wal_autocheckpoint = ${IMPORT_WAL_AUTOCHECKPOINT_PAGES}`);
    connection.pragma('temp_store = FILE');
    connection.pragma(`temp.cache_size = -${settings.tempCacheKib}`);
    return createBatchWriter(connection, settings, clock);
  } catch (error) {
    connection.close();
    throw error;
  }
}

function createBatchWriter(connection: BetterSqlite3.Database, settings: WriterSettings, clock: PhaseClock): BatchWriter {
  const { jobId, columns, lanes } = settings;
  const indexed = new Set(settings.indexedColumns);
  const changed = updatedColumns(columns);
  const isChanged = (column: string) => `products.${column} is not excluded.${column}`;
  // search_dirty (src/db/search-index.sqlite.ts): 1 = new, 2 = text changed; the background indexer
  // takes it from there, so the search index costs this statement one column.
  const textChanged = changed.filter((column) => indexed.has(column)).map(isChanged).join(' or ');
  const begin = connection.prepare('begin immediate');
  const commit = connection.prepare('commit');
  const rollback = connection.prepare('rollback');
  // A batch's lane is attached for its transaction alone: BEGIN IMMEDIATE takes the write lock of
  // every attached file, and the job thread stages the next batch in the other lane meanwhile.
  const attach = connection.prepare('attach database ? as staging');
  const detach = connection.prepare('detach database staging');
  // The upserts are prepared against the first lane; SQLite prepares them again after each attach.
  attach.run(lanes[0]);
  const upsert = (pass: number) =>
    connection.prepare(`insert into products (sku, sku_key, name, description, price_cents, active, created_at, updated_at, search_dirty)
      select sku, sku_key, name, description, price_cents, active, @now, @now, 1 from staging.import_staging where pass = ${pass}
        order by sku_key -- walks the unique index (and, for new rows, the table) in order, as on PostgreSQL
      on conflict (sku_key) do update set ${changed.map((column) => `${column} = excluded.${column}`).join(', ')},
        updated_at = excluded.updated_at,
        search_dirty = case when ${textChanged} then 2 else products.search_dirty end
      where ${changed.map(isChanged).join(' or ')}`);
  const upsertFirsts = upsert(1);
  const upsertLasts = upsert(2);
  detach.run();
  let attached = false;
  const end = () => {
    if (connection.inTransaction) rollback.run();
    if (attached) detach.run();
    attached = false;
  };
  const lastId = connection.prepare('select seq from sqlite_sequence where name = ?').pluck();
  const countNewer = connection.prepare('select count(*) from products where id > ?').pluck();
  /** The checkpoint's statement is the same text every batch: prepared once. */
  const prepared = new Map<string, BetterSqlite3.Statement>();
  const insertError = connection.prepare(
    'insert into job_errors (job_id, line, sku, field, message, raw) values (?, ?, ?, ?, ?, ?)',
  );

  /** When the last batch committed: the next one begins SQLITE_LOCK_GAP_MS later at the earliest. */
  let committedAt = -Infinity;
  const pause = new Int32Array(new SharedArrayBuffer(4));

  return {
    merge(lane, firsts, lasts) {
      // Another connection's write waiting for the lock (a PATCH of the API's, polling) gets in
      // here: without the gap, batches already staged followed each other at once, and a PATCH
      // during a 500k import waited up to ~1 s.
      const gap = committedAt + SQLITE_LOCK_GAP_MS - performance.now();
      if (gap > 0) Atomics.wait(pause, 0, 0, gap);
      const now = new Date().toISOString();
      const path = lanes[lane];
      if (path === undefined) throw new Error(`The import has no staging lane ${lane}.`);
      clock.time('commit', () => {
        attach.run(path);
        attached = true;
        begin.run();
      });
      const startedAt = clock.now();
      const idBefore = Number(lastId.get('products') ?? 0);
      const written = upsertFirsts.run({ now }).changes;
      const inserted = written === 0 ? 0 : Number(countNewer.get(idBefore));
      if (lasts > 0) upsertLasts.run({ now });
      clock.add('merge', startedAt);
      return { inserted, updated: written - inserted, unchanged: firsts - written };
    },
    commit(checkpoint, errors) {
      const startedAt = clock.now();
      let statement = prepared.get(checkpoint.sql);
      if (!statement) prepared.set(checkpoint.sql, (statement = connection.prepare(checkpoint.sql)));
      statement.run(...checkpoint.parameters);
      for (const error of errors) insertError.run(jobId, error.line, error.sku, error.field, error.message, error.raw);
      clock.add('checkpoint', startedAt);
      clock.time('commit', () => {
        commit.run();
        end();
      });
      committedAt = performance.now();
    },
    rollback: end,
    checkpointWal() {
      clock.time('commit', () => connection.pragma('wal_checkpoint(PASSIVE)'));
    },
    close() {
      connection.close();
    },
  };
}

function asFailure(error: unknown): WriterFailure {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** Makes this worker thread a writer of SQLite imports (import-sink.sqlite-thread.ts). */
export function serveImportWriter(): void {
  const port = parentPort;
  if (!port) throw new Error('The import writer runs only as a worker thread.');
  const server = new ImportWriterServer((message) => port.postMessage(message));
  port.on('message', (command: WriterCommand) => server.receive(command));
}

/**
 * One import at a time (`open` … `close`), its commands served in order. A batch's transaction
 * stays open until its checkpoint (or `abandon`) comes; the commands that arrive meanwhile wait.
 */
class ImportWriterServer {
  private clock = new PhaseClock();
  private writer: BatchWriter | null = null;
  /** The rejected rows of the batch whose transaction waits for its checkpoint. */
  private waiting: RejectedRow[] | null = null;
  private failed = false;
  private readonly backlog: WriterCommand[] = [];

  constructor(private readonly reply: (message: WriterReply) => void) {}

  receive(command: WriterCommand): void {
    if (this.waiting && command.type !== 'checkpoint' && command.type !== 'abandon') {
      this.backlog.push(command);
      return;
    }
    this.handle(command);
    while (!this.waiting && this.backlog.length > 0) this.handle(this.backlog.shift() as WriterCommand);
  }

  private handle(command: WriterCommand): void {
    if (command.type === 'open') return this.open(command.settings);
    const writer = this.writer;
    // Nothing is open: only a close can come here, after an open that failed.
    if (!writer) return this.reply({ type: 'closed', phases: {} });
    if (command.type === 'write') return this.write(writer, command);
    if (command.type === 'checkpoint' || command.type === 'abandon') return this.settle(writer, command);
    if (command.type === 'flush') return this.flush(writer);
    this.close(writer);
  }

  private open(settings: WriterSettings): void {
    this.clock = new PhaseClock();
    this.failed = false;
    try {
      this.writer = openBatchWriter(settings, this.clock);
      this.reply({ type: 'opened' });
    } catch (error) {
      this.reply({ type: 'failed', failure: asFailure(error) });
    }
  }

  private write(writer: BatchWriter, { lane, firsts, lasts, errors }: Extract<WriterCommand, { type: 'write' }>): void {
    if (this.failed) return;
    this.attempt(() => {
      const counts = writer.merge(lane, firsts, lasts);
      this.waiting = errors;
      this.reply({ type: 'counts', counts });
    });
  }

  private settle(writer: BatchWriter, command: Extract<WriterCommand, { type: 'checkpoint' | 'abandon' }>): void {
    const errors = this.waiting;
    if (!errors) return;
    this.attempt(() => {
      this.waiting = null;
      if (command.type === 'abandon') {
        // The job thread has failed the import: the writes queued behind this one are not written.
        this.failed = true;
        return writer.rollback();
      }
      writer.commit(command, errors);
      this.reply({ type: 'committed' });
    });
  }

  private flush(writer: BatchWriter): void {
    if (!this.failed) this.attempt(() => writer.checkpointWal());
    this.reply({ type: 'flushed' });
  }

  private close(writer: BatchWriter): void {
    writer.rollback();
    writer.close();
    this.writer = null;
    this.reply({ type: 'closed', phases: this.clock.milliseconds() });
  }

  /** Runs `work`; if it throws, the batch in progress is rolled back and the import's writes fail from here on. */
  private attempt(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.failed = true;
      this.waiting = null;
      this.writer?.rollback();
      this.reply({ type: 'failed', failure: asFailure(error) });
    }
  }
}
