import { sql } from 'kysely';
import pg from 'pg';
import { openSqliteConnection } from '../../src/db/connection.sqlite.js';
import { POSTGRES_URL } from './services.js';
import { testConfig, type TestApp, type TestStore } from './test-app.js';

// Holds a running import at a batch commit, with no hook in the app: the test takes a lock the
// commit needs and gives it back with release(). For tests that must act on a job while it
// runs (cancel it, stream it), instead of hoping a big file is slow enough.

export interface ImportHold {
  /** Gives the lock back: the held commit goes through and the import goes on. Idempotent. */
  release(): Promise<void>;
}

const HOLD_TIMEOUT_MS = 60_000;
const FINISHED = ['completed', 'failed', 'cancelled'];

/**
 * Holds the import `jobId` (just started; it must have a batch still to commit) at its next
 * batch commit; resolves once it is held.
 *
 * - PostgreSQL: a transaction of ours holds `products` in SHARE mode, which the batch's upsert
 *   must wait for; nothing else waits (the job row, reads, a cancel request). Held once the
 *   import's statement waits for that lock in pg_locks.
 * - SQLite has one write lock per file, and the app writes synchronously on its main thread: a
 *   second connection holding it would freeze the app and the test with it. So the hold is a
 *   write transaction opened on the app's own connection once the job has saved its start (its
 *   next write is then its first batch, committed on its thread's connection, which waits). Not
 *   an event of the app but a poll of the job row: should the thread parse and commit a whole
 *   batch within one poll, the hold lands on the next batch (and fails loudly if none is left).
 *   Meanwhile the app's plain writes (a cancel request) join that transaction and commit at
 *   release(); its own transactions (ending a queued job, the webhook fan-out) cannot start: do
 *   neither while held. The import waits at most busy_timeout (10 s, src/db/database.ts).
 */
export async function holdImportAtNextBatch(test: TestApp, jobId: string): Promise<ImportHold> {
  const { db } = test.runtime.database;
  const readJob = () => db.selectFrom('jobs').select(['status', 'phase']).where('id', '=', jobId).executeTakeFirstOrThrow();
  if (test.config.database.dialect === 'postgres') return holdOnPostgres(test.store, jobId, readJob);
  return holdOnSqlite(jobId, readJob, {
    lock: async () => {
      await sql`begin immediate`.execute(db);
    },
    unlock: async () => {
      await sql`commit`.execute(db);
    },
  });
}

/**
 * The same for an import run by a server process of its own on `store`, its job read through
 * `readJob` (its API). On SQLite the hold is a write transaction of a second connection: the
 * server writes nothing on its main thread while it runs a job and no request comes in. (A
 * resumed job still shows its earlier phase: on SQLite its hold may land on its start, before
 * its first batch; no batch commits either way.)
 */
export async function holdServerImportAtNextBatch(store: TestStore, jobId: string, readJob: ReadJob): Promise<ImportHold> {
  const database = testConfig(store).database;
  if (database.dialect === 'postgres') return holdOnPostgres(store, jobId, readJob);
  const connection = openSqliteConnection(database.file);
  return holdOnSqlite(jobId, readJob, {
    lock: async () => {
      connection.exec('begin immediate');
    },
    unlock: async () => {
      connection.exec('commit');
      connection.close();
    },
  });
}

/** A job's status, and its phase (set once the import saved its start). */
type ReadJob = () => Promise<{ status: string; phase: string | null }>;

function once(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => (done ??= action());
}

function endedBeforeHeld(jobId: string, status: string): Error {
  return new Error(`import ${jobId} is ${status}: it ended before it could be held`);
}

async function holdOnPostgres(store: TestStore, jobId: string, readJob: ReadJob): Promise<ImportHold> {
  const products = `${store.schema as string}.products`;
  const holder = new pg.Client({ connectionString: POSTGRES_URL });
  // Watches pg_locks from outside the holding transaction: inside it, pg_stat_activity is a snapshot.
  const watcher = new pg.Client({ connectionString: POSTGRES_URL });
  await holder.connect();
  await watcher.connect();
  const release = once(async () => {
    await holder.query('commit').catch(() => undefined);
    await holder.end();
  });
  try {
    await holder.query('begin');
    await holder.query(`lock table ${products} in share mode`);
    const deadline = Date.now() + HOLD_TIMEOUT_MS;
    for (;;) {
      const { rows } = await watcher.query<{ waiting: number }>(
        `select count(*)::int as waiting from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.relation = $1::regclass and not l.granted and a.query like '%import_staging%'`,
        [products],
      );
      if ((rows[0]?.waiting ?? 0) > 0) return { release };
      const { status } = await readJob();
      if (FINISHED.includes(status)) throw endedBeforeHeld(jobId, status);
      if (Date.now() > deadline) throw new Error(`import ${jobId} did not reach a batch commit in ${HOLD_TIMEOUT_MS} ms (${status})`);
      await new Promise((resolve) => setTimeout(resolve, 20)); // polling pg_locks: no event tells when a lock is waited for
    }
  } catch (error) {
    await release();
    throw error;
  } finally {
    await watcher.end();
  }
}

async function holdOnSqlite(jobId: string, readJob: ReadJob, writeLock: { lock(): Promise<void>; unlock(): Promise<void> }): Promise<ImportHold> {
  // Its start is saved (phase set) when it begins reading rows: its next write is a batch commit.
  const deadline = Date.now() + HOLD_TIMEOUT_MS;
  for (;;) {
    const { status, phase } = await readJob();
    if (status === 'running' && phase !== null) break;
    if (FINISHED.includes(status)) throw endedBeforeHeld(jobId, status);
    if (Date.now() > deadline) throw new Error(`import ${jobId} did not start reading rows in ${HOLD_TIMEOUT_MS} ms (${status})`);
    await new Promise((resolve) => setTimeout(resolve, 5)); // its thread tells no one when it saved its start
  }
  await writeLock.lock();
  const release = once(() => writeLock.unlock());
  const { status } = await readJob();
  if (status !== 'running') {
    await release();
    throw endedBeforeHeld(jobId, status);
  }
  return { release };
}
