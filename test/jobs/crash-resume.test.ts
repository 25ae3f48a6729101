import fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { POSTGRES_URL } from '../support/services.js';
import { createDatabase } from '../../src/db/database.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { holdServerImportAtNextBatch } from '../support/import-hold.js';
import { createTestStore, startTestApp, testConfig, type TestStore } from '../support/test-app.js';
import { csvText, importFile, type Cells, type JobJson } from './job-helpers.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

// A real server process stopped in the middle of an import, gracefully (SIGTERM) and then
// hard (kill -9): each next start resumes the job from its checkpoint, and the catalog and
// counts end exactly as after an uninterrupted run of the same file.

const ROWS = 80_000;

/** Repeated SKUs (some in another case), invalid rows, quoted multi-line descriptions. */
function trickyCatalog(rows: number): string {
  const out: Cells[] = [['sku', 'name', 'description', 'price', 'active']];
  for (let index = 0; index < rows; index++) {
    const repeat = index % 5 === 4;
    const base = repeat ? index - 3 : index;
    const sku = repeat && index % 10 === 9 ? `crash-${base}` : `CRASH-${base}`;
    const invalid = index % 97 === 0;
    out.push([
      sku,
      invalid ? '' : `Name ${index}`,
      index % 4 === 0 ? `Line one ${index}\nline "two"` : `Plain ${index}`,
      `${index % 500}.${String(index % 100).padStart(2, '0')}`,
      index % 3 === 0 ? 'false' : 'true',
    ]);
  }
  return csvText(out);
}

function stop(server: ServerProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    server.child.once('exit', () => resolve());
    server.child.kill(signal);
  });
}

/** Waits until the server refuses connections: it has begun stopping. */
async function untilRefused(server: ServerProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (await fetch(`${server.baseUrl}/healthz`).then(() => true, () => false)) {
    if (Date.now() > deadline) throw new Error(`the server still answers 10 s after the signal: ${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function getJob(server: ServerProcess, id: string): Promise<JobJson> {
  const response = await fetch(`${server.baseUrl}/api/jobs/${id}`);
  return (await response.json()) as JobJson;
}

async function jobState(server: ServerProcess, id: string): Promise<{ status: string; phase: string | null }> {
  const job = await getJob(server, id);
  return { status: job.status, phase: (job.phase as string | null) ?? null };
}

async function pollJob(server: ServerProcess, id: string, until: (job: JobJson) => boolean, timeoutMs: number): Promise<JobJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(server, id);
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job not there in time: ${JSON.stringify(job)}\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const COUNTS = ['rows_processed', 'inserted', 'updated', 'unchanged', 'invalid', 'bytes_processed', 'bytes_total', 'percent'];

describeEachDialect('SIGTERM and kill -9 mid-import, then restart (%s)', (dialect) => {
  const stores: TestStore[] = [];
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of servers) if (server.child.exitCode === null) server.child.kill('SIGKILL');
    for (const store of stores) await store.drop();
  });

  it('resumes from the checkpoint and ends exactly as an uninterrupted run', { timeout: 240_000 }, async () => {
    const content = trickyCatalog(ROWS);

    // The uninterrupted run, for reference.
    const reference = await startTestApp(dialect);
    const expectedJob = await importFile(reference.app, content, 'crash.csv');
    const productsOf = (db: typeof reference.runtime.database.db) =>
      db.selectFrom('products').select(['sku_key', 'sku', 'name', 'description', 'price_cents', 'active']).orderBy('sku_key').execute();
    const expectedProducts = await productsOf(reference.runtime.database.db);
    const expectedErrors = await reference.runtime.database.db.selectFrom('job_errors').select(['line', 'sku', 'field']).orderBy('line').execute();
    await reference.close();
    expect(expectedJob.status).toBe('completed');

    const store = await createTestStore(dialect);
    stores.push(store);
    const env: Record<string, string> = { ...store.env, LOG_LEVEL: 'warn' };
    if (store.schema) env.DATABASE_URL = `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${store.schema}`)}`;

    const first = await startServerProcess(env);
    servers.push(first);
    const upload = await fetch(`${first.baseUrl}/api/upload?filename=crash.csv`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: content });
    expect(upload.status).toBe(202);
    const { id } = (await upload.json()) as JobJson;

    // 1. A graceful stop (SIGTERM) mid-import, held at a batch commit: once the server has begun
    //    stopping (it no longer answers), the batch goes through and the job goes back to the
    //    queue at its checkpoint.
    const termHold = await holdServerImportAtNextBatch(store, id, () => jobState(first, id));
    const beforeTerm = await getJob(first, id);
    const firstExited = stop(first, 'SIGTERM');
    try {
      await untilRefused(first);
    } finally {
      await termHold.release();
    }
    await firstExited;
    expect(first.child.exitCode).toBe(0);

    // 2. The next start resumes it; kill -9 it mid-import.
    const second = await startServerProcess(env);
    servers.push(second);
    const resumed = await getJob(second, id);
    expect(['queued', 'running']).toContain(resumed.status);
    expect(Number(resumed.rows_processed)).toBeGreaterThan(Number(beforeTerm.rows_processed));
    // Killed in the middle of a batch commit: that batch is lost, the checkpoint before it stays.
    const killHold = await holdServerImportAtNextBatch(store, id, () => jobState(second, id));
    const beforeKill = await getJob(second, id);
    try {
      await stop(second, 'SIGKILL');
    } finally {
      await killHold.release();
    }

    // 3. The next start resumes it again, to the end.
    const third = await startServerProcess(env);
    servers.push(third);
    const atRestart = await getJob(third, id);
    expect(['queued', 'running']).toContain(atRestart.status);
    expect(Number(atRestart.rows_processed)).toBe(Number(beforeKill.rows_processed));
    expect(Number(atRestart.rows_processed)).toBeLessThan(ROWS);
    const done = await pollJob(third, id, (job) => ['completed', 'failed', 'cancelled'].includes(job.status), 180_000);
    expect(done.status, third.output()).toBe('completed');
    for (const key of COUNTS) expect(done[key], key).toEqual(expectedJob[key]);
    // A completed import's file is deleted right after its final commit.
    const uploadDir = testConfig(store).uploadDir;
    const deadline = Date.now() + 10_000;
    while (fs.readdirSync(uploadDir).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fs.readdirSync(uploadDir)).toEqual([]);
    await stop(third, 'SIGKILL');

    const database = createDatabase(testConfig(store).database);
    try {
      const products = await productsOf(database.db);
      expect(products.length).toBe(expectedProducts.length);
      expect(products).toEqual(expectedProducts);
      const errors = await database.db.selectFrom('job_errors').select(['line', 'sku', 'field']).where('job_id', '=', id).orderBy('line').execute();
      expect(errors).toEqual(expectedErrors);
      const attempts = await database.db.selectFrom('jobs').select('attempts').where('id', '=', id).executeTakeFirstOrThrow();
      expect(Number(attempts.attempts)).toBe(3);
      const events = await database.db.selectFrom('outbox_events').select(['type', 'data']).execute();
      expect(events.map((event) => event.type)).toEqual(['import.completed']);
    } finally {
      await database.close();
    }
  });
});
