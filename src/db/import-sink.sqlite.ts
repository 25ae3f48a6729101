import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { once } from '../shared/shutdown.js';
import { keptThreads, startThread, threadModule } from '../shared/threads.js';
import type { BatchCheckpoint, ImportedProduct, ImportSink, SinkBatch, SinkOptions } from './import-sink.js';
import { SQLITE_BUSY_TIMEOUT_MS } from './connection.sqlite.js';
import { SQLITE_INDEXED_COLUMNS } from './search-index.sqlite.js';
import { STAGING_TABLE, type WriterCommand, type WriterFailure, type WriterReply } from './import-sink.sqlite-writer.js';

// SQLite: the batches are written on a thread of their own (import-sink.sqlite-writer.ts: the
// upserts, the connection's caches), each in one transaction with its checkpoint, while the job
// thread parses the next one (better-sqlite3 is synchronous: on the job thread, each write held
// the parse). The job thread stages each batch in one of two files of the import's ("lanes",
// beside the database, deleted when the import ends) and tells the writer, which has them
// attached; no batch crosses the threads, and a staged batch leaves the job thread's heap. A
// batch's counts come back from the writer; the checkpoint's statement is built here from them
// (it carries the job's running totals) and sent back to be committed with the batch. One batch is
// written while the next waits staged: `write` stages in the lane whose last batch is committed.

const WRITER_THREAD = threadModule(import.meta.url, 'import-sink.sqlite-thread');
/**
 * The writer thread's heap: no batch crosses to it, so it holds its code and a few small messages
 * (8–9 MB committed with these limits, in `--trace-gc`).
 */
const WRITER_HEAP = { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 32 };

/**
 * The writer threads of one database's imports: one per import running at once, kept for the next
 * imports (a thread takes ~30 ms to start compiled, ~300 ms from source, as the tests run).
 */
export interface SqliteImportWriters {
  openSink(options: SinkOptions): Promise<ImportSink>;
  /** Ends the threads, each once its import has closed its sink. Idempotent. */
  close(): Promise<void>;
}

export function sqliteImportWriters(file: string): SqliteImportWriters {
  let closing = false;
  const writers = keptThreads(() => {
    const worker = startThread(WRITER_THREAD, { workerData: {}, resourceLimits: WRITER_HEAP });
    worker.once('exit', () => writers.exited(worker));
    // An uncaught error ends the thread: the sink using it fails on its exit.
    worker.on('error', () => undefined);
    return worker;
  });

  return {
    async openSink(options) {
      if (closing) throw new Error('The database is closing: no import can start.');
      const worker = writers.take();
      // An idle writer does not keep the process alive.
      worker.ref();
      const release = () => {
        worker.unref();
        if (closing) void worker.terminate();
        else writers.release(worker);
      };
      const { memory, jobId, columns } = options;
      const lanes: StagingLane[] = [];
      const end = () => {
        for (const lane of lanes) lane.remove();
        release();
      };
      try {
        for (let index = 0; index < LANES; index++) lanes.push(openStagingLane(`${file}.import-${jobId}.lane${index}`));
        worker.postMessage({
          type: 'open',
          settings: {
            file,
            jobId,
            columns,
            indexedColumns: [...SQLITE_INDEXED_COLUMNS],
            pageCacheKib: memory.pageCacheKib,
            tempCacheKib: memory.tempCacheKib,
            lanes: lanes.map((lane) => lane.path),
          },
        } satisfies WriterCommand);
        const opened = await nextReply(worker);
        if (opened.type !== 'opened') {
          throw opened.type === 'failed' ? asError(opened.failure) : new Error(`The import writer answered ${opened.type} to open.`);
        }
      } catch (error) {
        end();
        throw error;
      }
      return createSink(worker, lanes, options.clock, end);
    },
    // A writer in use ends when its import closes its sink (a job stopping on SIGTERM commits the
    // batch it is writing, as it did when the job thread wrote it), or after CLOSE_WAIT_MS.
    close: once(async () => {
      closing = true;
      const running = [...writers.all];
      const exits = Promise.all(running.map((worker) => new Promise((resolve) => worker.once('exit', resolve))));
      for (const worker of writers.takeIdle()) void worker.terminate();
      const waited = setTimeout(() => {
        for (const worker of running) void worker.terminate();
      }, CLOSE_WAIT_MS);
      await exits;
      clearTimeout(waited);
    }),
  };
}

/** How long closing waits for an import to close its sink: a batch waits for the lock up to SQLITE_BUSY_TIMEOUT_MS, then writes. */
const CLOSE_WAIT_MS = 2 * SQLITE_BUSY_TIMEOUT_MS;
/** Staging files: one is written while the writer reads the other. */
const LANES = 2;
/** The page cache of a staging file's connection: each batch is written once, in one pass. */
const LANE_CACHE_KIB = 1024;

/** A staging file of the import's: filled here, read by the writer, in turns. */
interface StagingLane {
  path: string;
  /** Empties the file and stages the batch's products in it. */
  stage(batch: SinkBatch): void;
  /** Closes the file's connection and deletes it. */
  remove(): void;
}

/**
 * A scratch file (no journal, no syncs: a crash loses it with the batch, which the resumed job
 * stages again), named after the job so a resumed one replaces what a crash left.
 */
function openStagingLane(path: string): StagingLane {
  const unlink = () => {
    for (const suffix of ['', '-journal']) fs.rmSync(`${path}${suffix}`, { force: true });
  };
  unlink();
  const connection = new BetterSqlite3(path);
  connection.pragma('journal_mode = OFF');
  connection.pragma('synchronous = OFF');
  connection.pragma(`cache_size = -${LANE_CACHE_KIB}`);
  connection.exec(`create table ${STAGING_TABLE}`);
  const clear = connection.prepare('delete from import_staging');
  const insert = connection.prepare(
    'insert into import_staging (pass, sku, sku_key, name, description, price_cents, active) values (?, ?, ?, ?, ?, ?, ?)',
  );
  // In key order, the table's order (JavaScript compares UTF-16 units where SQLite compares UTF-8
  // bytes: they differ past U+D7FF, where an insert lands out of order and costs a little more).
  const insertAll = (pass: number, rows: readonly ImportedProduct[]) => {
    for (const row of [...rows].sort(byKey)) insert.run(pass, row.sku, row.key, row.name, row.description, row.priceCents, row.active);
  };
  const stage = connection.transaction((batch: SinkBatch) => {
    clear.run();
    insertAll(1, batch.firsts);
    insertAll(2, batch.lasts);
  });
  return {
    path,
    stage: (batch) => stage(batch),
    remove() {
      if (connection.open) connection.close();
      unlink();
    },
  };
}

const byKey = (a: ImportedProduct, b: ImportedProduct) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The writer's next reply; rejects if the thread ends first. */
function nextReply(worker: Worker): Promise<WriterReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WriterReply) => {
      worker.off('exit', onExit);
      resolve(reply);
    };
    const onExit = () => {
      worker.off('message', onMessage);
      reject(new Error('The import writer thread ended.'));
    };
    worker.once('message', onMessage);
    worker.once('exit', onExit);
  });
}

/** A promise settled from outside, whose rejection is never unhandled (it is read, or dropped with the sink). */
interface Settlement {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function settlement(): Settlement {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((resolvePromise, rejectPromise) => {
    resolve = resolvePromise;
    reject = rejectPromise;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function createSink(worker: Worker, lanes: readonly StagingLane[], clock: SinkOptions['clock'], end: () => void): ImportSink {
  /** Batches sent to the writer and not committed yet, in order. */
  const writes: { checkpoint: BatchCheckpoint; done: Settlement }[] = [];
  /** Per lane, the write of the batch last staged in it: settled once the writer is done with it. */
  const laneWrites: (Promise<void> | undefined)[] = lanes.map(() => undefined);
  let turn = 0;
  const flushes: Settlement[] = [];
  const closed = settlement();
  /** The error of a write that failed (or of the thread): every later call rejects with it. */
  let failure: unknown = null;
  const send = (command: WriterCommand) => worker.postMessage(command);

  const fail = (error: unknown) => {
    failure ??= error;
    for (const { done } of writes.splice(0)) done.reject(failure);
    for (const flushed of flushes.splice(0)) flushed.reject(failure);
  };

  const answer = (reply: WriterReply) => {
    if (reply.type === 'failed') fail(asError(reply.failure));
    else if (reply.type === 'closed') {
      for (const [phase, ms] of Object.entries(reply.phases)) clock.addMs(phase, ms);
      closed.resolve();
    } else if (failure) {
      // Answers to what was sent before the failure: already rejected.
    } else if (reply.type === 'counts') {
      const statement = (writes[0] as (typeof writes)[number]).checkpoint.statement(reply.counts);
      send({ type: 'checkpoint', sql: statement.sql, parameters: statement.parameters });
    } else if (reply.type === 'committed') {
      const { checkpoint, done } = writes.shift() as (typeof writes)[number];
      checkpoint.committed();
      done.resolve();
    } else if (reply.type === 'flushed') {
      flushes.shift()?.resolve();
    }
  };
  const onMessage = (reply: WriterReply) => {
    try {
      answer(reply);
    } catch (error) {
      // Building the checkpoint failed: the batch waiting for it is rolled back.
      if (reply.type === 'counts') send({ type: 'abandon' });
      fail(error);
    }
  };
  const onExit = () => {
    fail(new Error('The import writer thread ended.'));
    closed.resolve();
  };
  worker.on('message', onMessage);
  worker.once('exit', onExit);

  return {
    async write(batch, checkpoint) {
      const lane = turn++ % lanes.length;
      await laneWrites[lane];
      if (failure) throw failure;
      clock.time('stage', () => (lanes[lane] as StagingLane).stage(batch));
      const done = settlement();
      writes.push({ checkpoint, done });
      laneWrites[lane] = done.promise;
      send({ type: 'write', lane, firsts: batch.firsts.length, lasts: batch.lasts.length, errors: batch.errors });
    },
    async flush() {
      if (failure) throw failure;
      const flushed = settlement();
      flushes.push(flushed);
      send({ type: 'flush' });
      await flushed.promise;
    },
    // Every batch taken is written (the writer serves the close after them), as a batch in
    // progress is on PostgreSQL: the pipeline takes a batch only once it has checked for a cancel.
    close: once(async () => {
      send({ type: 'close' });
      await closed.promise;
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      end();
    }),
  };
}

function asError({ name, message, code }: WriterFailure): Error {
  return Object.assign(new Error(message), { name, ...(code === undefined ? {} : { code }) });
}
