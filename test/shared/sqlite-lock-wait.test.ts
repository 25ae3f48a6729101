import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { API_WAL_AUTOCHECKPOINT_PAGES, openSqliteConnection } from '../../src/db/connection.sqlite.js';
import { openTestDatabase, testConfig, type TestDatabase } from '../support/test-app.js';

// An API write on SQLite that meets an import's transaction (another connection, on the job
// thread) waits for it without blocking the event loop or the API's connection
// (src/db/sqlite-driver.ts). Here a second connection plays the import: it holds the write lock
// until the test commits it.

describe("SQLite writes waiting for another connection's write lock", () => {
  let opened: TestDatabase | undefined;
  let importer: BetterSqlite3.Database | undefined;

  afterEach(async () => {
    if (importer?.inTransaction) importer.exec('rollback');
    importer?.close();
    await opened?.close();
  });

  async function holdWriteLock() {
    opened = await openTestDatabase('sqlite');
    const config = testConfig(opened.store).database;
    if (config.dialect !== 'sqlite') throw new Error('expected a SQLite store');
    const { db } = opened.database;
    const now = new Date().toISOString();
    const { id } = await db
      .insertInto('products')
      .values({ sku: 'LOCKED', sku_key: 'locked', name: 'Before', description: null, active: 1, created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    importer = openSqliteConnection(config.file);
    importer.pragma('busy_timeout = 0');
    importer.exec('begin immediate');
    importer.prepare(`insert into products (sku, sku_key, name, active, created_at, updated_at) values ('IMPORTED', 'imported', 'From the import', 1, ?, ?)`).run(now, now);
    return { db, id };
  }

  /** Settles with the promise's outcome, or 'pending' when it has not settled by the next timer tick. */
  async function stateOf(promise: Promise<unknown>): Promise<string> {
    return Promise.race([promise.then(() => 'settled', () => 'failed'), new Promise<string>((resolve) => setTimeout(() => resolve('pending'), 50))]);
  }

  it('lets reads and timers run while an update waits, then applies it once the lock is free', async () => {
    const { db, id } = await holdWriteLock();
    const update = db.updateTable('products').set({ name: 'After' }).where('id', '=', id).execute();

    // The event loop runs timers, and the same connection answers reads, while the update waits.
    expect(await stateOf(update)).toBe('pending');
    const read = await db.selectFrom('products').select('name').where('id', '=', id).executeTakeFirstOrThrow();
    expect(read.name).toBe('Before');
    expect(await stateOf(update)).toBe('pending');

    importer?.exec('commit');
    await update;
    const names = await db.selectFrom('products').select(['sku', 'name']).orderBy('sku').execute();
    expect(names).toEqual([
      { sku: 'IMPORTED', name: 'From the import' },
      { sku: 'LOCKED', name: 'After' },
    ]);
  });

  it("starts a transaction once the lock is free, and reads the import's rows in it", async () => {
    const { db, id } = await holdWriteLock();
    const transaction = db.transaction().execute(async (trx) => {
      const { count } = await trx.selectFrom('products').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
      await trx.updateTable('products').set({ name: `Saw ${count}` }).where('id', '=', id).execute();
    });

    expect(await stateOf(transaction)).toBe('pending');
    expect(await sql<{ one: number }>`select 1 as one`.execute(db)).toEqual(expect.objectContaining({ rows: [{ one: 1 }] }));

    importer?.exec('commit');
    await transaction;
    const row = await db.selectFrom('products').select('name').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.name).toBe('Saw 2');
  });

  it('holds the write lock from the start of a transaction, so none meets the lock half-way', async () => {
    const { db, id } = await holdWriteLock();
    importer?.exec('commit');
    await db.transaction().execute(async (trx) => {
      // Before this transaction writes anything, another connection can no longer take the lock.
      expect(() => importer?.exec('begin immediate')).toThrow(/locked|busy/i);
      await trx.updateTable('products').set({ name: 'First' }).where('id', '=', id).execute();
    });
    const row = await db.selectFrom('products').select('name').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.name).toBe('First');
  });

  it('gives up with SQLITE_BUSY after 10 s, the connection still usable', async () => {
    const { db, id } = await holdWriteLock();
    const startedAt = performance.now();
    await expect(db.updateTable('products').set({ name: 'Never' }).where('id', '=', id).execute()).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(10_000);

    importer?.exec('commit');
    await db.updateTable('products').set({ name: 'Later' }).where('id', '=', id).execute();
    const row = await db.selectFrom('products').select('name').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.name).toBe('Later');
  });

  it("leaves checkpoints to another connection for 10 s after that connection's last commit", async () => {
    const { db, id } = await holdWriteLock();
    const threshold = async () => (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)).rows[0]?.wal_autocheckpoint;
    const write = (name: string) => db.updateTable('products').set({ name }).where('id', '=', id).execute();

    // The product was written before the other connection's commit: SQLite's default.
    expect(await threshold()).toBe(1000);
    importer?.exec('commit');
    await write('While the import writes');
    expect(await threshold()).toBe(API_WAL_AUTOCHECKPOINT_PAGES);

    const lastCommitSeenAt = performance.now();
    await expect.poll(async () => {
      await write(`Quiet for ${Math.round(performance.now() - lastCommitSeenAt)} ms`);
      return threshold();
    }, { timeout: 15_000, interval: 500 }).toBe(1000);
    expect(performance.now() - lastCommitSeenAt).toBeGreaterThanOrEqual(10_000);
  });

  it("leaves checkpoints to another connection in a transaction begun after that connection's commit", async () => {
    const { db, id } = await holdWriteLock();
    const threshold = async () => (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)).rows[0]?.wal_autocheckpoint;
    importer?.exec('commit');
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('products').set({ name: 'In a transaction' }).where('id', '=', id).execute();
    });
    expect(await threshold()).toBe(API_WAL_AUTOCHECKPOINT_PAGES);
  });
});
