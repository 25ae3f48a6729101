import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../src/db/database.js';
import { holdImportAtNextBatch } from '../support/import-hold.js';
import { createTestStore, startTestApp, testConfig, type TestApp, type TestStore } from '../support/test-app.js';
import { catalog, uploadRaw, waitForJob, type JobJson } from '../jobs/job-helpers.js';

// The API's SQLite connection reads through a memory map, except while a job writes in bulk
// (DatabaseOptions.mapReads, src/db/database.ts): asked of the connection itself.

/** SQLite's largest map, which mapReads asks for. */
const MAPPED = 0x7fff0000;

const mapSize = async (database: Database) => {
  const { rows } = await sql<{ mmap_size: number }>`pragma mmap_size`.execute(database.db);
  return Number(rows[0]?.mmap_size);
};

describe('the API connection’s read map (SQLite)', () => {
  let store: TestStore | undefined;
  let database: Database | undefined;
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    await database?.close();
    await store?.drop();
    [test, database, store] = [undefined, undefined, undefined];
  });

  const open = async (mapReads: boolean) => {
    store = await createTestStore('sqlite');
    database = createDatabase(testConfig(store).database, { mapReads });
    return database;
  };

  it('is off while any bulk write runs, back once the last one ends, even a failed one', async () => {
    const db = await open(true);
    expect(await mapSize(db)).toBe(MAPPED);
    let releaseFirst!: () => void;
    const first = db.whileBulkWriting(() => new Promise<string>((resolve) => (releaseFirst = () => resolve('first'))));
    await expect(db.whileBulkWriting(async () => mapSize(db))).resolves.toBe(0);
    // The second has ended; the first still runs.
    expect(await mapSize(db)).toBe(0);
    releaseFirst();
    await expect(first).resolves.toBe('first');
    expect(await mapSize(db)).toBe(MAPPED);

    await expect(db.whileBulkWriting(() => Promise.reject(new Error('the job failed')))).rejects.toThrow('the job failed');
    expect(await mapSize(db)).toBe(MAPPED);
  });

  it('is never on without mapReads (a job thread’s connection)', async () => {
    const db = await open(false);
    expect(await mapSize(db)).toBe(0);
    await expect(db.whileBulkWriting(async () => mapSize(db))).resolves.toBe(0);
    expect(await mapSize(db)).toBe(0);
  });

  it('is off in the server while an import runs, and on again after it', async () => {
    test = await startTestApp('sqlite');
    const { database: appDatabase } = test.runtime;
    expect(await mapSize(appDatabase)).toBe(MAPPED);
    const job = (await uploadRaw(test.app, catalog(50_000, { skuPrefix: 'MAP' }))).json() as JobJson;
    const hold = await holdImportAtNextBatch(test, job.id);
    try {
      expect(await mapSize(appDatabase)).toBe(0);
    } finally {
      await hold.release();
    }
    expect((await waitForJob(test.app, job.id)).status).toBe('completed');
    // The runner maps it again after the job's end is saved and published: wait for that step.
    await expect.poll(() => mapSize(appDatabase), { interval: 5, timeout: 10_000 }).toBe(MAPPED);
  });
});
