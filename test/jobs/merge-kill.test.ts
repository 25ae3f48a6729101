import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { POSTGRES_URL } from '../support/services.js';
import { createTestStore, startTestApp, testConfig, type Dialect, type TestApp, type TestStore } from '../support/test-app.js';
import { waitUntil } from '../webhooks/webhook-support.js';
import { csvText, importFile, waitForJob, type Cells, type JobJson } from './job-helpers.js';

// A real server process killed (kill -9) while one of an import's batches is in the middle of
// its merge (the upsert from the staging table into products), not between batches; the next
// start resumes the job from the checkpoint before that batch, and everything ends exactly as
// after an uninterrupted import of the same file into a fresh database.
//
// How the merge is held there, as an event rather than a moment guessed:
// - PostgreSQL: a transaction of the test inserts, uncommitted, a product with the key of one of
//   the file's SKUs in a later batch. The batch's upsert, which runs in key order, writes the
//   rows before that key, then waits on the row lock until the test's transaction ends; the test
//   sees it waiting in pg_stat_activity (blocked by the test's backend) and kills the server.
//   The dead server's backend waits on: the test then rolls back, the backend finishes the
//   statement, finds its client gone and rolls the batch back (nothing can commit it).
// - SQLite has no such wait: in WAL mode a writer that holds the write lock (taken by the batch's
//   BEGIN IMMEDIATE, before staging) never waits for another connection, so a lock held from
//   outside stops a batch only at its start, between batches. And the merge is one synchronous
//   statement (sqlite3_step) in the job thread: "mid-merge" is that thread being inside it, with
//   part of the batch written into the open transaction. So the hold is the database's own trigger
//   mechanism, installed from outside the app: the server is started with a preload of the test's
//   (support/merge-hold.preload.mjs) that gives the import's connection a temporary trigger on
//   the held key, calling a function that reports on stderr and blocks the job thread inside the
//   statement; the test kills the server when it reads the report. No code of the app changes.
//   The preload also makes the page cache of that connection small, so that the merge has
//   already spilled pages of the batch into the WAL when it is killed: the crash leaves an
//   uncommitted, partly written merge on disk (asserted below), as a large import's does once
//   its dirty pages outgrow the cache.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PRELOAD = path.join(ROOT, 'test/jobs/support/merge-hold.preload.mjs');
/** What the preload prints once it holds the merge. */
const MERGE_HELD_LINE = 'merge held at';
const ROWS = 50_000;
/** In the second write (the first batch, FIRST_BATCH_ROWS = 20,000 rows, is written alone), in the middle of its keys. */
const HELD_INDEX = 30_000;
const HELD_SKU = `MERGE-${HELD_INDEX}`;

/**
 * Repeated SKUs (some in another case, some the same row again), invalid rows, quoted multi-line
 * descriptions. Each fifth row repeats the SKU of the row three before it.
 */
function catalog(rows: number): string {
  const cells = (index: number): Cells => [
    index % 97 === 0 ? '' : `Name ${index}`,
    index % 4 === 0 ? `Line one ${index}\nline "two"` : `Plain ${index}`,
    `${index % 500}.${String(index % 100).padStart(2, '0')}`,
    index % 3 === 0 ? 'false' : 'true',
  ];
  const out: Cells[] = [['sku', 'name', 'description', 'price', 'active']];
  for (let index = 0; index < rows; index++) {
    if (index % 5 !== 4) out.push([`MERGE-${index}`, ...cells(index)]);
    else if (index % 20 === 14) out.push([`MERGE-${index - 3}`, ...cells(index - 3)]);
    else out.push([index % 10 === 9 ? `merge-${index - 3}` : `MERGE-${index - 3}`, ...cells(index)]);
  }
  return csvText(out);
}

/** Searches through the API (exact, index or not) and, once the indexer has caught up, words looked up in the index itself. */
const SEARCHES = ['merge-3000', 'name 30004', 'plain 30001', 'plain 2999', 'line one 2500'];
const INDEXED_WORDS = ['merge-3000', 'name 30004', 'plain 30001', 'plain 2999'];
const COUNTS = ['status', 'rows_processed', 'inserted', 'updated', 'unchanged', 'invalid', 'bytes_processed', 'bytes_total', 'percent'];

function kill(server: ServerProcess): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

interface Listed {
  items: { sku: string }[];
  total: number;
}

async function list(t: TestApp, query: string): Promise<Listed> {
  const response = await t.app.inject({ method: 'GET', url: `/api/products?${query}` });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

/** The keys of the products the search index itself holds for a lower-case word (no verification against the rows). */
async function indexedKeys(database: Database, dialect: Dialect, word: string): Promise<{ entries: number; keys: string[] }> {
  const query =
    dialect === 'sqlite'
      ? sql<{ id: number }>`select rowid as id from product_search where product_search match ${trigramsOf(word)}`
      : sql<{ id: number }>`select product_id as id from product_search where text like ${`%${word}%`}`;
  const ids = (await query.execute(database.db)).rows.map((row) => Number(row.id));
  if (ids.length === 0) return { entries: 0, keys: [] };
  const keys = await database.db.selectFrom('products').select('sku_key').where('id', 'in', ids).orderBy('sku_key').execute();
  return { entries: ids.length, keys: keys.map((row) => row.sku_key) };
}

/** FTS5 without positions takes no phrases: the word's trigrams, all required. */
function trigramsOf(word: string): string {
  return Array.from({ length: word.length - 2 }, (_, start) => `"${word.slice(start, start + 3)}"`).join(' AND ');
}

/** What an import leaves, compared whole between the interrupted run and the reference one. */
async function outcome(t: TestApp, dialect: Dialect, jobId: string) {
  const { database } = t.runtime;
  const { db } = database;
  const job = (await waitForJob(t.app, jobId, undefined, 120_000)) as Record<string, unknown>;
  // The background indexer works once no job runs: the index is complete when it has caught up.
  await t.runtime.searchIndexer?.whenCaughtUp();
  const search: Record<string, { total: number; skus: string[] }> = {};
  for (const query of SEARCHES) {
    const found = await list(t, `q=${encodeURIComponent(query)}&sort=sku&page_size=100`);
    search[query] = { total: found.total, skus: found.items.map((item) => item.sku) };
  }
  const index: Record<string, { entries: number; keys: string[] }> = {};
  for (const word of INDEXED_WORDS) index[word] = await indexedKeys(database, dialect, word);
  return {
    job: Object.fromEntries(COUNTS.map((key) => [key, job[key]])),
    products: await db.selectFrom('products').select(['sku_key', 'sku', 'name', 'description', 'price_cents', 'active']).orderBy('sku_key').execute(),
    productCount: Number((await db.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n),
    apiTotal: (await list(t, 'page_size=1')).total,
    errors: await db.selectFrom('job_errors').select(['line', 'sku', 'field', 'message', 'raw']).where('job_id', '=', jobId).orderBy('line').execute(),
    unindexed: await database.dialect.searchIndex.countUnindexed(db),
    search,
    index,
  };
}

/** The job's row as committed: what a restart resumes from. */
async function committedJob(store: TestStore, jobId: string) {
  const database = createDatabase(testConfig(store).database);
  try {
    return await database.db.selectFrom('jobs').select(['status', 'rows_processed', 'checkpoint_line', 'attempts']).where('id', '=', jobId).executeTakeFirstOrThrow();
  } finally {
    await database.close();
  }
}

/**
 * Frames at the end of an SQLite WAL file written after its last commit frame, in the WAL's
 * current generation (the salts of its header): pages of a transaction that never committed.
 */
function uncommittedWalFrames(walFile: string): number {
  const wal = fs.readFileSync(walFile);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const [salt1, salt2] = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let frames = 0;
  let afterCommit = 0;
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (wal.readUInt32BE(offset + 8) !== salt1 || wal.readUInt32BE(offset + 12) !== salt2) break;
    frames++;
    afterCommit = wal.readUInt32BE(offset + 4) > 0 ? 0 : afterCommit + 1;
  }
  return frames === 0 ? 0 : afterCommit;
}

/** Holds an import inside the merge of the batch holding HELD_SKU. */
interface MergeHold {
  /** Resolves once the merge is held there (an event seen, not a moment guessed). */
  held(): Promise<void>;
  /** Once the server is dead: lets the database end up as the crash left it, and checks what it left. */
  afterKill(): Promise<void>;
  /** Idempotent. */
  release(): Promise<void>;
}

/** PostgreSQL: the held SKU's product inserted by a transaction of ours, uncommitted (the key's row lock). */
async function holdOnPostgres(store: TestStore): Promise<MergeHold> {
  const holder = new pg.Client({ connectionString: POSTGRES_URL });
  const watcher = new pg.Client({ connectionString: POSTGRES_URL });
  await holder.connect();
  await watcher.connect();
  await holder.query(`set search_path to ${store.schema as string}`);
  await holder.query('begin');
  const now = new Date().toISOString();
  await holder.query('insert into products (sku, sku_key, name, active, created_at, updated_at) values ($1, $2, $3, 1, $4, $4)', [HELD_SKU, HELD_SKU.toLowerCase(), 'held', now]);
  const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  let importPid: number | null = null;
  let released: Promise<void> | null = null;
  const release = () => (released ??= holder.query('rollback').then(() => holder.end()));
  const backendAlive = async (pid: number) => (await watcher.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount === 1;
  return {
    async held() {
      // Asked on a connection of its own: inside a transaction, pg_stat_activity is a snapshot.
      await waitUntil(
        async () => {
          const { rows } = await watcher.query<{ pid: number }>(
            `select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid)) and wait_event_type = 'Lock'
               and query like '%import_staging%' and query like '%insert into products%'`,
            [holderPid],
          );
          importPid = rows[0]?.pid ?? null;
          return importPid !== null;
        },
        60_000,
        () => 'the import\'s upsert to wait on the held row',
      );
    },
    async afterKill() {
      // The dead server's backend still waits on the lock, unaware: once it may go on, it ends its
      // statement, finds its client gone and rolls the batch back (no one is left to commit it).
      const pid = importPid as number;
      await release();
      await waitUntil(async () => !(await backendAlive(pid)), 30_000, () => `the dead server's backend ${pid} to end`);
      await watcher.end();
    },
    async release() {
      await release();
      await watcher.end().catch(() => undefined);
    },
  };
}

/** SQLite: the preload's trigger, on a server started with it. */
function holdOnSqlite(store: TestStore, server: ServerProcess): MergeHold {
  const database = testConfig(store).database;
  if (database.dialect !== 'sqlite') throw new Error('an SQLite store only');
  const line = `${MERGE_HELD_LINE} ${HELD_SKU.toLowerCase()}`;
  return {
    held: () => waitUntil(() => server.output().includes(line), 60_000, () => `the merge to be held: ${server.output()}`),
    async afterKill() {
      // Part of the merge reached the WAL, never committed: recovery at the next start must ignore it.
      expect(uncommittedWalFrames(`${database.file}-wal`)).toBeGreaterThan(0);
    },
    release: async () => undefined,
  };
}

describeEachDialect('kill -9 in the middle of a batch merge, then restart (%s)', (dialect) => {
  const stores: TestStore[] = [];
  const servers: ServerProcess[] = [];
  const holds: MergeHold[] = [];
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    for (const hold of holds) await hold.release();
    for (const store of stores) await store.drop();
  });

  it('resumes from the checkpoint before that batch and ends exactly as an uninterrupted import', { timeout: 120_000 }, async () => {
    const content = catalog(ROWS);

    // The uninterrupted import of the same file into a fresh database, for reference.
    const reference = await startTestApp(dialect);
    const expected = await importFile(reference.app, content, 'merge.csv')
      .then((job) => outcome(reference, dialect, job.id))
      .finally(() => reference.close());
    expect(expected.job.status).toBe('completed');
    expect(expected.job.updated).toBeGreaterThan(0);
    expect(expected.job.unchanged).toBeGreaterThan(0);
    expect(expected.errors.length).toBe(expected.job.invalid);
    // What the searches compared below find: the held product and its neighbours, and a product
    // written twice in the killed batch by its last row only (row 30004 replaced row 30001).
    expect(expected.search['merge-3000']?.skus).toContain(HELD_SKU);
    expect(expected.index['merge-3000']?.keys).toContain(HELD_SKU.toLowerCase());
    expect(expected.search['name 30004']?.skus).toEqual(['MERGE-30001']);
    expect(expected.search['plain 30001']?.total).toBe(0);

    const store = await createTestStore(dialect);
    stores.push(store);
    const env: Record<string, string> = { ...store.env };
    if (store.schema) env.DATABASE_URL = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${store.schema}`)}`;
    const server =
      dialect === 'sqlite'
        ? await startServerProcess({ ...env, TEST_MERGE_HOLD_SKU_KEY: HELD_SKU.toLowerCase() }, ['--import', PRELOAD])
        : await startServerProcess(env);
    servers.push(server);
    // (PostgreSQL: once the server has migrated the schema.)
    const hold = dialect === 'postgres' ? await holdOnPostgres(store) : holdOnSqlite(store, server);
    holds.push(hold);

    const upload = await fetch(`${server.baseUrl}/api/upload?filename=merge.csv`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: content });
    expect(upload.status).toBe(202);
    const { id } = (await upload.json()) as JobJson;

    await hold.held();
    const held = await committedJob(store, id);
    expect(held.status).toBe('running');
    // A later batch than the first: that one is committed, with its checkpoint.
    expect(Number(held.rows_processed)).toBeGreaterThan(0);
    expect(Number(held.rows_processed)).toBeLessThanOrEqual(HELD_INDEX);

    await kill(server);
    await hold.afterKill();
    // The killed batch left nothing committed: the job resumes from the checkpoint before it.
    expect(await committedJob(store, id)).toEqual(held);

    const restarted = await startTestApp(dialect, {}, store);
    try {
      const actual = await outcome(restarted, dialect, id);
      expect(actual.job).toEqual(expected.job);
      expect(actual.productCount).toBe(expected.productCount);
      expect(actual.apiTotal).toBe(expected.apiTotal);
      expect(actual.products).toEqual(expected.products);
      expect(actual.errors).toEqual(expected.errors);
      expect(actual.unindexed).toBe(0);
      expect(actual.search).toEqual(expected.search);
      expect(actual.index).toEqual(expected.index);
      expect(Number((await committedJob(store, id)).attempts)).toBe(2);
    } finally {
      await restarted.close();
    }
  });
});
