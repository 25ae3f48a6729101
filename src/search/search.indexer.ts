import { setTimeout as delay } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import type { SearchIndexWriter } from '../db/search-index.js';

// The background search indexer: moves products an import wrote (and, after a migration or
// `npm run reindex`, every product) into the search index, in batches, outside every request and
// every import transaction; API writes index themselves (SearchIndex.indexNow). One per process
// that runs jobs; several processes may share a PostgreSQL database (each batch claims its rows).
// While no job runs, searches check the rows it has not reached one by one, so its progress only
// makes them faster; while a job runs, searches skip them (src/db/search-index.ts).
//
// Idempotent and crash-safe: a batch clears the marks of the rows it indexed in the same
// transaction, so after a crash at any point the marks left say exactly what to index again.

export interface SearchIndexerOptions {
  database: Database;
  /** Safety net for rows written by other processes or threads (imports run in worker threads). */
  pollIntervalMs?: number;
  /**
   * True while a job runs. The indexer stays idle meanwhile, looking again every pollIntervalMs: its
   * batches took the cores an import needs (PostgreSQL's GIN inserts: a 200k-row import took 1.8× as
   * long) and, on SQLite, held the API's event loop (list p99 215 ms during a 500k import, 11 ms with
   * the indexer idle). The job's rows are searchable once it ends (checked one by one until indexed).
   */
  jobRunning?: () => Promise<boolean>;
  onError?: (error: unknown) => void;
}

export interface SearchIndexer {
  /** Resolves once a pass that began after this call found nothing left to index. */
  whenCaughtUp(): Promise<void>;
  /** Finishes the batch in progress, then stops. Idempotent. */
  close(): Promise<void>;
}

const MIN_BATCH = 50;
const MAX_BATCH = 20_000;
/** After SQLITE_BUSY (an import's batch holds the write lock): try again this soon. */
const BUSY_RETRY_MS = 10;
const ERROR_RETRY_MS = 1_000;

export function startSearchIndexer(options: SearchIndexerOptions): SearchIndexer {
  const { database, pollIntervalMs = 500, jobRunning = async () => false, onError = () => undefined } = options;
  const writer: SearchIndexWriter = database.dialect.searchIndex.openWriter(database.db);
  const { targetBatchMs, restRatio } = writer;
  let batchSize = 500;
  let closed = false;
  let wakeUp: (() => void) | null = null;
  /** A wake() that came while a pass was running: start the next one without sleeping. */
  let wakeRequested = false;
  let passesStarted = 0;
  const waiters: Array<{ after: number; resolve: () => void }> = [];

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });

  /** Indexes until nothing is left (returns true) or it is told to hold off (false). */
  async function drain(): Promise<boolean> {
    let indexedAny = false;
    for (;;) {
      if (closed) return false;
      if (await jobRunning()) return false;
      const started = performance.now();
      const limit = batchSize;
      const { indexed, busy } = await writer.indexBatch(limit);
      if (busy) {
        await delay(BUSY_RETRY_MS);
        continue;
      }
      const elapsed = performance.now() - started;
      indexedAny ||= indexed > 0;
      if (indexed < limit) {
        if (indexedAny) await writer.caughtUp();
        return true;
      }
      // Aim each full batch at the target duration (measured, so it follows the machine's load).
      const scaled = Math.round((limit * targetBatchMs) / Math.max(elapsed, 1));
      batchSize = Math.min(MAX_BATCH, Math.max(MIN_BATCH, Math.min(scaled, limit * 2)));
      // Let requests and other writers in between batches (SQLite: for as long as the batch held the lock).
      if (restRatio > 0) await delay(elapsed * restRatio);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Resolves whenCaughtUp() calls made before the pass `pass` started, which found the queue empty. */
  const resolveWaitersBefore = (pass: number) => {
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const waiter = waiters[i] as (typeof waiters)[number];
      if (waiter.after < pass) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };

  const loop = (async () => {
    while (!closed) {
      wakeRequested = false;
      passesStarted += 1;
      const pass = passesStarted;
      try {
        const caughtUp = await drain();
        if (caughtUp) resolveWaitersBefore(pass);
        if (!closed && (!caughtUp || !wakeRequested)) await sleep(pollIntervalMs);
      } catch (error) {
        onError(error);
        if (!closed) await sleep(ERROR_RETRY_MS);
      }
    }
  })();

  const wake = () => {
    wakeRequested = true;
    wakeUp?.();
  };
  let closing: Promise<void> | null = null;
  return {
    whenCaughtUp() {
      return new Promise((resolve) => {
        waiters.push({ after: passesStarted, resolve });
        wake();
      });
    },
    close() {
      closing ??= (async () => {
        closed = true;
        wakeUp?.();
        await loop;
        await writer.close();
        for (const waiter of waiters.splice(0)) waiter.resolve();
      })();
      return closing;
    },
  };
}
