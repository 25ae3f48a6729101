import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { importMemoryShares } from '../../src/config.js';
import { PhaseClock } from '../../src/shared/phase-clock.js';
import { rebuildSearchIndex } from '../../src/search/search.reindex.js';
import { freePort } from '../support/ports.js';
import { POSTGRES_URL } from '../support/services.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { postgresSkipReason } from '../support/services.js';
import { describeEach } from '../support/suites.js';
import { QUEUE_PROBED_FROM } from '../../src/db/search-index.postgres.js';
import { createProductsService } from '../../src/products/products.service.js';
import { holdImportAtNextBatch } from '../support/import-hold.js';
import { createTestStore, openTestDatabase, startTestApp, type Dialect, type TestApp, type TestStore } from '../support/test-app.js';
import { waitUntil } from '../webhooks/webhook-support.js';
import { csvText, importFile, uploadRaw, waitForJob, type Cells, type JobJson } from '../jobs/job-helpers.js';

// Keeping the search index: API writes are found by the very next search; imported rows once
// the indexer has run (and, exact all along, before); reindex; deletes of every kind leave no
// entry behind; an import killed with SIGKILL and resumed leaves an index the indexer completes.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Listed {
  items: { id: number; sku: string; name: string }[];
  total: number;
  total_exact: boolean;
  search_complete: boolean;
  pages: number;
}

async function list(t: TestApp, query: string): Promise<Listed> {
  const response = await t.app.inject({ method: 'GET', url: `/api/products?${query}` });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

const skus = async (t: TestApp, query: string) => (await list(t, query)).items.map((item) => item.sku);

/**
 * The ids the index itself holds for a (lower-case, 3+ character) word: no verification, no
 * unindexed rows. `name`: the names' own index.
 */
async function indexedIds(t: TestApp, dialect: Dialect, word: string, scope: 'any' | 'name' = 'any'): Promise<number[]> {
  const { db } = t.runtime.database;
  const [table, column] = scope === 'name' ? ['product_search_name', 'name'] : ['product_search', 'text'];
  const query =
    dialect === 'sqlite'
      ? sql<{ id: number }>`select rowid as id from ${sql.table(table)} where ${sql.table(table)} match ${trigramsOf(word)} order by rowid`
      : sql<{ id: number }>`select product_id as id from ${sql.table(table)} where ${sql.ref(column)} like ${`%${word}%`} order by product_id`;
  return (await query.execute(db)).rows.map((row) => Number(row.id));
}

/** FTS5 without positions takes no phrases: the word's trigrams, all required. */
function trigramsOf(word: string): string {
  return Array.from({ length: word.length - 2 }, (_, start) => `"${word.slice(start, start + 3)}"`).join(' AND ');
}

async function caughtUp(t: TestApp): Promise<void> {
  await t.runtime.searchIndexer?.whenCaughtUp();
  expect(await t.runtime.database.dialect.searchIndex.countUnindexed(t.runtime.database.db)).toBe(0);
}

function catalogRows(count: number, word: (index: number) => string, skuPrefix = 'KEEP'): string {
  const rows: Cells[] = [['sku', 'name', 'description', 'price']];
  for (let index = 0; index < count; index++) rows.push([`${skuPrefix}-${index}`, `Item ${word(index)} ${index}`, `About ${word(index)}`, '1.00']);
  return csvText(rows);
}

describeEachDialect('search index maintenance on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('finds a product created or changed through the API with the very next search', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/products', payload: { sku: 'FRESH-1', name: 'Zebrafish tank' } });
    expect(created.statusCode).toBe(201);
    expect(await skus(t, 'q=ZEBRAFISH')).toEqual(['FRESH-1']);
    const { id } = created.json() as { id: number };
    // Indexed in the write's own transaction: nothing waits for the background indexer.
    expect(await indexedIds(t, dialect, 'zebrafish')).toEqual([id]);
    expect(await indexedIds(t, dialect, 'zebrafish', 'name')).toEqual([id]);
    expect((await t.app.inject({ method: 'PATCH', url: `/api/products/${id}`, payload: { name: 'Axolotl tank' } })).statusCode).toBe(200);
    expect(await skus(t, 'q=zebrafish')).toEqual([]);
    expect(await skus(t, 'q=axolotl')).toEqual(['FRESH-1']);
    expect(await indexedIds(t, dialect, 'axolotl')).toEqual([id]);
    expect(await indexedIds(t, dialect, 'zebrafish')).toEqual([]);
    expect(await indexedIds(t, dialect, 'axolotl', 'name')).toEqual([id]);
    expect(await indexedIds(t, dialect, 'zebrafish', 'name')).toEqual([]);
    expect(await t.runtime.database.dialect.searchIndex.countUnindexed(t.runtime.database.db)).toBe(0);
  });

  it('finds imported rows at once, and through the index once the indexer has run; a re-import changing text replaces entries', async () => {
    const job = await importFile(t.app, catalogRows(3000, (index) => (index % 3 === 0 ? 'marmoset' : 'capybara')), 'first.csv');
    expect(job.status).toBe('completed');
    expect((await list(t, 'q=marmoset&page_size=1')).total).toBe(1000);
    await caughtUp(t);
    expect((await indexedIds(t, dialect, 'marmoset')).length).toBe(1000);
    expect((await list(t, 'q=marmoset&page_size=1')).total).toBe(1000);

    const again = await importFile(t.app, catalogRows(3000, (index) => (index % 3 === 0 ? 'narwhal' : 'capybara')), 'second.csv');
    expect(again.updated).toBe(1000);
    expect((await list(t, 'q=marmoset')).total).toBe(0);
    expect((await list(t, 'q=narwhal')).total).toBe(1000);
    await caughtUp(t);
    expect(await indexedIds(t, dialect, 'marmoset')).toEqual([]);
    expect((await indexedIds(t, dialect, 'narwhal')).length).toBe(1000);
    expect(await indexedIds(t, dialect, 'marmoset', 'name')).toEqual([]);
    expect((await indexedIds(t, dialect, 'narwhal', 'name')).length).toBe(1000);
  });

  it('caps a text search count at 10,000 and says so, filters without q stay exact', async () => {
    const job = await importFile(t.app, catalogRows(10_500, () => 'pangolin', 'MANY'), 'many.csv');
    expect(job.status, String(job.error)).toBe('completed');
    for (const query of ['q=pangolin', 'name=PANGOLIN&sort=price', 'q=pa']) {
      const page = await list(t, `${query}&page=2`);
      expect(page, query).toMatchObject({ total: 10_000, total_exact: false, pages: 500 });
      expect(page.items).toHaveLength(20);
    }
    expect(await list(t, 'sku=many-')).toMatchObject({ total: 10_500, total_exact: true });
    const narrow = await list(t, 'q=pangolin%2010499');
    expect(narrow).toMatchObject({ total: 1, total_exact: true });
    // An exact count gives a sorted page past the first (counted and paged by one statement).
    const second = await list(t, 'q=pangolin%201049&sort=name&order=desc&page=2&page_size=5');
    expect(second).toMatchObject({ total: 11, total_exact: true, pages: 3 });
    expect(second.items.map((item) => item.sku)).toEqual(['MANY-10494', 'MANY-10493', 'MANY-10492', 'MANY-10491', 'MANY-10490']);
    const byPrice = await list(t, 'q=pangolin%201049&active=true&sort=price&page=3&page_size=5');
    expect(byPrice.items.map((item) => item.sku)).toEqual(['MANY-10499']);
  });

  it('rebuilds from scratch (npm run reindex) to the same answers', async () => {
    const before = await list(t, 'q=narwhal&page_size=100');
    const indexed = await rebuildSearchIndex(t.runtime.database);
    // The background indexer shares the work on PostgreSQL (both claim rows), so the rebuild's own count is at most all.
    expect(indexed).toBeGreaterThan(0);
    expect(indexed).toBeLessThanOrEqual(Number((await list(t, '')).total));
    await caughtUp(t);
    expect(await list(t, 'q=narwhal&page_size=100')).toEqual(before);
    expect((await indexedIds(t, dialect, 'narwhal')).length).toBe(1000);
  });

  it('leaves no entry behind after delete, delete-selected, soft delete and bulk delete', async () => {
    await caughtUp(t);
    const [first, second, third] = (await list(t, 'q=narwhal&page_size=3')).items;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/products/${first?.id}` })).statusCode).toBe(204);
    const selected = await t.app.inject({ method: 'POST', url: '/api/products/delete', payload: { ids: [second?.id] } });
    expect(selected.json()).toEqual({ deleted: 1 });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/products/${third?.id}?soft=true` })).statusCode).toBe(200);
    for (const scope of ['any', 'name'] as const) {
      const remaining = await indexedIds(t, dialect, 'narwhal', scope);
      expect(remaining).toHaveLength(998);
      expect(remaining).not.toContain(first?.id);
      expect(remaining).not.toContain(second?.id);
      expect(remaining).toContain(third?.id);
    }
    expect((await list(t, 'q=narwhal&active=false')).items.map((item) => item.id)).toEqual([third?.id]);

    const bulk = await t.app.inject({ method: 'POST', url: '/api/products/bulk-delete', payload: { confirm: true } });
    expect(bulk.statusCode).toBe(202);
    expect((await waitForJob(t.app, (bulk.json() as JobJson).id)).status).toBe('completed');
    for (const word of ['narwhal', 'capybara', 'pangolin', 'axolotl']) {
      expect(await indexedIds(t, dialect, word)).toEqual([]);
      expect(await indexedIds(t, dialect, word, 'name')).toEqual([]);
    }
    expect(await list(t, 'q=narwhal')).toMatchObject({ total: 0, total_exact: true });
  });
});

/** Waits until the webhook dispatcher has fanned out every outbox event (it tells no one). */
async function outboxFannedOut(t: TestApp): Promise<void> {
  const deadline = Date.now() + 10_000;
  const pending = () => t.runtime.database.db.selectFrom('outbox_events').select('id').where('dispatched_at', 'is', null).executeTakeFirst();
  while ((await pending()) !== undefined) {
    if (Date.now() > deadline) throw new Error('outbox events still waiting for their fan-out after 10 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeEachDialect('searches while a job runs on %s', (dialect) => {
  // While a job runs, rows an import wrote and the indexer has not reached are not checked one by
  // one (the searches stay fast during an import); they are found again once it ends. API writes
  // are indexed at once, so a job never hides them.

  it('skip the rows an import wrote and the indexer has not reached, and find them once the job ends', async () => {
    const t = await startTestApp(dialect, { SEARCH_INDEXER: 'false' });
    try {
      expect((await importFile(t.app, catalogRows(50, () => 'tapir', 'WAITING'), 'waiting.csv')).status).toBe('completed');
      expect(await list(t, 'q=tapir')).toMatchObject({ total: 50, search_complete: true });
      const created = await t.app.inject({ method: 'POST', url: '/api/products', payload: { sku: 'PLUSH-1', name: 'Tapir plush' } });
      expect(created.statusCode).toBe(201);

      await outboxFannedOut(t); // SQLite: no webhook fan-out may start while the import is held (import-hold.ts)
      // More rows than the first batch (20,000), so the hold finds a batch still to commit.
      const held = catalogRows(30_000, (index) => (index % 100 === 0 ? 'gecko' : 'heron'), 'HELD');
      const accepted = (await uploadRaw(t.app, held, { filename: 'held.csv' })).json() as JobJson;
      const hold = await holdImportAtNextBatch(t, accepted.id);
      try {
        expect(await list(t, 'q=tapir')).toMatchObject({ total: 1, items: [{ sku: 'PLUSH-1' }], search_complete: false });
        expect(await list(t, 'name=tapir')).toMatchObject({ items: [{ sku: 'PLUSH-1' }], search_complete: false });
        expect(await list(t, 'q=tapir&active=true&sort=price')).toMatchObject({ total: 1, search_complete: false });
        // Nothing but text searches is left incomplete.
        expect(await list(t, 'sku=waiting')).toMatchObject({ total: 50, search_complete: true });
      } finally {
        await hold.release();
      }
      expect((await waitForJob(t.app, accepted.id)).status).toBe('completed');
      expect(await list(t, 'q=tapir')).toMatchObject({ total: 51, search_complete: true });
      expect((await list(t, 'q=gecko')).total).toBe(300);
    } finally {
      await t.close();
    }
  });

  it('finds what the API writes meanwhile with the very next search', async () => {
    const opened = await openTestDatabase(dialect);
    try {
      const { database } = opened;
      const products = createProductsService({ database });
      const now = new Date().toISOString();
      // A job in progress as the jobs table shows it (no runner here to end it).
      await database.db.insertInto('jobs').values({ id: randomUUID(), type: 'import', status: 'running', created_at: now, updated_at: now }).execute();
      const created = await products.create({ sku: 'ZOO-1', name: 'Okapi lamp', price: null });
      const found = async (term: string) => {
        const page = await products.list({ q: term });
        expect(page.search_complete, 'nothing waits for the indexer').toBe(true);
        return page.items.map((item) => item.sku);
      };
      expect(await found('okapi')).toEqual(['ZOO-1']);
      await products.update(created.id, { name: 'Bongo lamp' });
      expect(await found('okapi')).toEqual([]);
      expect(await found('bongo')).toEqual(['ZOO-1']);
      expect(await found('lamp')).toEqual(['ZOO-1']);
      expect(await database.dialect.searchIndex.countUnindexed(database.db)).toBe(0);
    } finally {
      await opened.close();
    }
  });
});

const postgresCase = [{ name: 'postgres', value: 'postgres' as const, skipped: await postgresSkipReason() }];

describeEach("PostgreSQL's own search plans on %s", postgresCase, (dialect) => {
  // Past QUEUE_PROBED_FROM queued ids a search looks each hit up in the queue instead of hashing
  // it, and `active` is filtered from the text index's entries (search-index.postgres.ts): each
  // way must give the answer the product rows give.

  it('check a queued hit on its row, with the queue long and short', async () => {
    const opened = await openTestDatabase(dialect);
    try {
      const { db } = opened.database;
      const products = createProductsService({ database: opened.database });
      await products.create({ sku: 'ZOO-1', name: 'Okapi lamp', price: null });
      const chair = await products.create({ sku: 'ZOO-2', name: 'Okapi chair', price: null });
      // The chair renamed as an import would: its entry still says okapi, and it is queued.
      await sql`update products set name = 'Bongo chair' where id = ${chair.id}`.execute(db);
      await sql`insert into product_search_queue (product_id) values (${chair.id})`.execute(db);
      const now = new Date().toISOString();
      await db.insertInto('jobs').values({ id: randomUUID(), type: 'import', status: 'running', created_at: now, updated_at: now }).execute();

      const queueEstimate = async () => {
        const { rows } = await sql<{ live: string }>`select pg_stat_get_live_tuples('product_search_queue'::regclass) as live`.execute(db);
        return Number(rows[0]?.live);
      };
      /** Runs `change` and waits until the statistics' estimate of the queue, which chooses the plan, shows it. */
      const changeQueue = async (change: ReturnType<typeof sql>, settled: (live: number) => boolean) => {
        await db.transaction().execute(async (trx) => {
          await change.execute(trx);
          await sql`select pg_stat_force_next_flush()`.execute(trx);
        });
        await expect.poll(queueEstimate).toSatisfy(settled);
      };
      const found = async (term: string) => (await products.list({ q: term, sort: 'sku' })).items.map((item) => item.sku);

      const filler = QUEUE_PROBED_FROM + 1000;
      await changeQueue(
        sql`with filled as (insert into products (sku, sku_key, name, price_cents, active, created_at, updated_at)
          select 'FILL-' || n, 'fill-' || n, 'Filler', null, 1, now(), now() from generate_series(1, ${filler}) n returning id)
          insert into product_search_queue (product_id) select id from filled`,
        (live) => live >= QUEUE_PROBED_FROM,
      );
      expect(await found('okapi')).toEqual(['ZOO-1']);
      expect(await found('chair')).toEqual(['ZOO-2']);
      expect(await found('lamp')).toEqual(['ZOO-1']);

      await changeQueue(sql`delete from product_search_queue where product_id not in (${chair.id})`, (live) => live < QUEUE_PROBED_FROM);
      expect(await found('okapi')).toEqual(['ZOO-1']);
      expect(await found('chair')).toEqual(['ZOO-2']);
    } finally {
      await opened.close();
    }
  });

  it('vacuum the queue once the indexer has emptied it, so asking whether it holds anything reads no dead rows', async () => {
    const t = await startTestApp(dialect);
    try {
      expect((await importFile(t.app, catalogRows(3000, () => 'ibex', 'VAC'), 'vacuum.csv')).status).toBe('completed');
      await caughtUp(t);
      // VACUUM frees the pages the indexer's deletes emptied, and gives them back at the table's end.
      const { rows } = await sql<{ bytes: string }>`select pg_relation_size('product_search_queue') as bytes`.execute(t.runtime.database.db);
      expect(Number(rows[0]?.bytes)).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('drain a long queue whose statistics were taken while it was nearly empty', { timeout: 60_000 }, async () => {
    const opened = await openTestDatabase(dialect);
    const writer = opened.database.dialect.searchIndex.openWriter(opened.database.db);
    try {
      const { db } = opened.database;
      const queued = 40_000;
      await sql`insert into products (sku, sku_key, name, price_cents, active, created_at, updated_at)
        select 'Q-' || n, 'q-' || n, 'Queued ' || n, null, 1, now(), now() from generate_series(1, ${queued}) n`.execute(db);
      // A VACUUM of a queue holding one row in its last page (as after a catch-up): 1 row in many pages.
      await sql`insert into product_search_queue (product_id) select id from products order by id`.execute(db);
      await sql`delete from product_search_queue where product_id < (select max(product_id) from product_search_queue)`.execute(db);
      await sql`vacuum product_search_queue`.execute(db);
      await sql`insert into product_search_queue (product_id) select id from products on conflict do nothing`.execute(db);
      // The next catch-up: planned on those statistics, each batch re-ran its claim for every queued
      // row (here: minutes, past the test's timeout; with the claim by ctid, seconds).
      let indexed = 0;
      for (let batch = await writer.indexBatch(5000); batch.indexed > 0; batch = await writer.indexBatch(5000)) indexed += batch.indexed;
      expect(indexed).toBe(queued);
      expect(await opened.database.dialect.searchIndex.countUnindexed(db)).toBe(0);
    } finally {
      await writer.close();
      await opened.close();
    }
  });

  it("queue again a product an import writes while an indexer has claimed it", { timeout: 60_000 }, async () => {
    const opened = await openTestDatabase(dialect);
    const holder = new pg.Client({ connectionString: POSTGRES_URL });
    const watcher = new pg.Client({ connectionString: POSTGRES_URL });
    await holder.connect();
    await watcher.connect();
    try {
      const { db } = opened.database;
      const sink = () =>
        opened.database.dialect.openImportSink({
          jobId: 'claimed',
          columns: { description: true, price: true, active: true },
          clock: new PhaseClock(),
          memory: importMemoryShares(128),
          mergeRows: 1,
        });
      const checkpoint = { statement: () => db.updateTable('jobs').set({ phase: 'importing' }).where('id', '=', 'none').compile(), committed: () => undefined };
      const write = async (name: string) => {
        const importing = await sink();
        try {
          const firsts = [{ sku: 'CLAIM-1', key: 'claim-1', name, description: null, priceCents: null, active: 1 as const }];
          await importing.write({ rows: 1, firsts, lasts: [], errors: [] }, checkpoint);
          await importing.flush();
        } finally {
          await importing.close();
        }
      };
      await write('Before');
      const queued = async () => Number((await sql<{ n: string }>`select count(*) as n from product_search_queue`.execute(db)).rows[0]?.n);
      expect(await queued()).toBe(1);

      // An indexer's claim: the queue row deleted by a transaction that has not committed.
      await holder.query(`set search_path to ${opened.store.schema as string}`);
      await holder.query('begin');
      expect((await holder.query('delete from product_search_queue')).rowCount).toBe(1);
      const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const written = write('After');
      await waitUntil(
        async () => (await watcher.query(`select 1 from pg_stat_activity where $1 = any(pg_blocking_pids(pid))`, [holderPid])).rowCount === 1,
        30_000,
        () => "the import's write to wait for the claim",
      );
      await holder.query('commit');
      await written;
      // Queued again: the indexer that claimed it read the product before the write.
      expect(await queued()).toBe(1);
    } finally {
      await holder.end();
      await watcher.end();
      await opened.close();
    }
  });

  it('filter by active from the index, and from the product row for entries written before migration 0015', async () => {
    const opened = await openTestDatabase(dialect);
    try {
      const products = createProductsService({ database: opened.database });
      await products.create({ sku: 'ZOO-1', name: 'Okapi lamp', price: null });
      const off = await products.create({ sku: 'ZOO-2', name: 'Okapi chair', price: null, active: false });
      const found = async (active: boolean) => (await products.list({ q: 'okapi', active, sort: 'sku' })).items.map((item) => item.sku);
      expect([await found(true), await found(false)]).toEqual([['ZOO-1'], ['ZOO-2']]);
      // Switched on through the API: the very next search filters by its new value.
      await products.update(off.id, { active: true });
      expect([await found(true), await found(false)]).toEqual([['ZOO-1', 'ZOO-2'], []]);
      await products.deactivate(off.id);
      expect([await found(true), await found(false)]).toEqual([['ZOO-1'], ['ZOO-2']]);
      // Entries without `active`, as migration 0015 leaves those written before it.
      await sql`update product_search set active = null`.execute(opened.database.db);
      expect([await found(true), await found(false)]).toEqual([['ZOO-1'], ['ZOO-2']]);
      expect((await products.list({ q: 'okapi', active: true })).total).toBe(1);
    } finally {
      await opened.close();
    }
  });
});

describeEachDialect('an import killed with SIGKILL and resumed (%s)', (dialect) => {
  let store: TestStore;
  let child: ChildProcess | null = null;
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await store?.drop();
  });

  it('leaves marks the indexer completes to an exact index', { timeout: 180_000 }, async () => {
    store = await createTestStore(dialect);
    const env: Record<string, string> = { ...store.env, LOG_LEVEL: 'warn' };
    if (store.schema) env.DATABASE_URL = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${store.schema}`)}`;
    const port = await freePort();
    let output = '';
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = server;
    server.stdout?.on('data', (chunk) => (output += String(chunk)));
    server.stderr?.on('data', (chunk) => (output += String(chunk)));
    const base = `http://127.0.0.1:${port}`;
    const until = async <T>(probe: () => Promise<T | null>, what: string): Promise<T> => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (server.exitCode !== null) throw new Error(`server exited: ${output}`);
        const value = await probe().catch(() => null);
        if (value !== null) return value;
        if (Date.now() > deadline) throw new Error(`${what} did not happen: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until(async () => ((await fetch(`${base}/healthz`)).ok ? true : null), 'server start');
    const rows = 60_000;
    const upload = await fetch(`${base}/api/upload?filename=kill.csv`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: catalogRows(rows, (index) => (index % 2 === 0 ? 'wombat' : 'dingo')),
    });
    expect(upload.status).toBe(202);
    const { id } = (await upload.json()) as JobJson;
    await until(async () => {
      const job = (await (await fetch(`${base}/api/jobs/${id}`)).json()) as JobJson;
      return Number(job.rows_processed) >= 20_000 ? job : null;
    }, 'import progress');
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGKILL');
    });

    const t = await startTestApp(dialect, {}, store);
    try {
      expect((await waitForJob(t.app, id, undefined, 120_000)).status).toBe('completed');
      expect(await list(t, 'q=wombat%2059998')).toMatchObject({ total: 1, total_exact: true });
      await caughtUp(t);
      expect((await indexedIds(t, dialect, 'wombat')).length).toBe(rows / 2);
      expect((await indexedIds(t, dialect, 'dingo')).length).toBe(rows / 2);
    } finally {
      await t.close();
    }
  });
});
