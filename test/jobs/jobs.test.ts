import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { holdImportAtNextBatch } from '../support/import-hold.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { catalog, csvText, importFile, uploadRaw, waitForJob, type JobJson } from './job-helpers.js';

/** Three batches (20,000 rows each): a held import stops at a boundary with rows both behind and ahead. */
const BIG_ROWS = 50_000;

describeEachDialect('jobs API (%s)', (dialect) => {
  let test: TestApp;
  let bigFile: string;
  beforeAll(async () => {
    test = await startTestApp(dialect);
    bigFile = catalog(BIG_ROWS, { skuPrefix: 'BIG' });
  });
  afterAll(async () => {
    await test?.close();
  });

  const outbox = (type: string) =>
    test.runtime.database.db.selectFrom('outbox_events').selectAll().where('type', '=', type).orderBy('seq').execute();
  const productCount = async () => {
    const row = await test.runtime.database.db.selectFrom('products').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  };

  it('gets a job, 404 for an unknown one, 422 for a malformed id', async () => {
    const job = await importFile(test.app, catalog(3, { skuPrefix: 'GET' }));
    const response = await test.app.inject({ method: 'GET', url: `/api/jobs/${job.id}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: job.id,
      type: 'import',
      status: 'completed',
      phase: null,
      percent: 100,
      rows_total: 0,
      rows_processed: 3,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      invalid: 0,
      eta_seconds: null,
      error: null,
      warnings: [],
    });
    const body = response.json() as JobJson;
    for (const key of ['created_at', 'started_at', 'finished_at']) expect(String(body[key])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await test.app.inject({ method: 'GET', url: '/api/jobs/3f6ed567-7f87-41de-8346-9de468e6f382' })).statusCode).toBe(404);
    const malformed = await test.app.inject({ method: 'GET', url: '/api/jobs/nope' });
    expect(malformed.statusCode).toBe(422);
    expect(malformed.json()).toMatchObject({ detail: [{ loc: ['path', 'id'] }] });
  });

  it('lists jobs newest first, filtered by type and status, limited', async () => {
    const first = await importFile(test.app, catalog(2, { skuPrefix: 'L1' }));
    const second = await importFile(test.app, catalog(2, { skuPrefix: 'L2' }));
    const all = (await test.app.inject({ method: 'GET', url: '/api/jobs?limit=100' })).json() as JobJson[];
    const ids = all.map((job) => job.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    const limited = (await test.app.inject({ method: 'GET', url: '/api/jobs?limit=1' })).json() as JobJson[];
    expect(limited.map((job) => job.id)).toEqual([second.id]);
    const imports = (await test.app.inject({ method: 'GET', url: '/api/jobs?type=import&status=completed' })).json() as JobJson[];
    expect(imports.every((job) => job.type === 'import' && job.status === 'completed')).toBe(true);
    expect((await test.app.inject({ method: 'GET', url: '/api/jobs?type=bulk_delete' })).json()).toEqual([]);
    for (const query of ['limit=101', 'limit=0', 'status=done', 'type=export']) {
      expect((await test.app.inject({ method: 'GET', url: `/api/jobs?${query}` })).statusCode, query).toBe(422);
    }
  });

  it('lists rejected rows as JSON (paged) and as a CSV to fix and upload again', async () => {
    const content = csvText([
      ['sku', 'name', 'price', 'Notes'],
      ['E-1', 'Fine', '1.50', 'ok'],
      ['E-2', '', '2.00', '=cmd|calc'],
      ['E-3', 'Bad price', 'abc', 'has, comma'],
      ['', 'No sku', '1', ''],
    ]);
    const job = await importFile(test.app, content, 'errors.csv');
    expect(job).toMatchObject({ status: 'completed', rows_processed: 4, inserted: 1, invalid: 3 });
    const errors = (await test.app.inject({ method: 'GET', url: `/api/jobs/${job.id}/errors` })).json() as { line: number; sku: string | null; field: string | null; message: string }[];
    expect(errors.map((error) => [error.line, error.sku, error.field])).toEqual([
      [3, 'E-2', 'name'],
      [4, 'E-3', 'price'],
      [5, null, 'sku'],
    ]);
    for (const error of errors) expect(error.message.length).toBeGreaterThan(0);
    const page = (await test.app.inject({ method: 'GET', url: `/api/jobs/${job.id}/errors?limit=1&offset=1` })).json() as { line: number }[];
    expect(page.map((error) => error.line)).toEqual([4]);

    const report = await test.app.inject({ method: 'GET', url: `/api/jobs/${job.id}/errors?format=csv` });
    expect(report.statusCode).toBe(200);
    expect(report.headers['content-type']).toMatch(/^text\/csv/);
    expect(report.headers['content-disposition']).toMatch(/attachment; filename=".*\.csv"/);
    const lines = report.body.trim().split('\r\n');
    expect(lines[0]).toBe('line,error,sku,name,price,Notes');
    expect(lines[1]).toMatch(/^3,"?name: .*,E-2,,2\.00,'=cmd\|calc$/);
    expect(lines[2]).toMatch(/^4,.*,E-3,Bad price,abc,"has, comma"$/);
    expect(lines).toHaveLength(4);

    // The report is itself an importable file (line and error are ignored columns).
    const fixed = report.body.replace(',E-2,,', ',E-2,Fixed name,');
    const again = await importFile(test.app, fixed, 'fixed.csv');
    expect(again).toMatchObject({ status: 'completed', rows_processed: 3, inserted: 1, invalid: 2 });

    expect((await test.app.inject({ method: 'GET', url: `/api/jobs/${job.id}/errors?limit=1001` })).statusCode).toBe(422);
    expect((await test.app.inject({ method: 'GET', url: '/api/jobs/3f6ed567-7f87-41de-8346-9de468e6f382/errors' })).statusCode).toBe(404);
  });

  it('appends one import.completed event with the counts, not one per row', async () => {
    const before = (await outbox('import.completed')).length;
    const job = await importFile(test.app, catalog(25, { skuPrefix: 'EVT' }));
    const events = await outbox('import.completed');
    expect(events).toHaveLength(before + 1);
    expect(JSON.parse((events.at(-1) as { data: string }).data)).toMatchObject({
      job_id: job.id,
      status: 'completed',
      rows_processed: 25,
      inserted: 25,
      updated: 0,
      unchanged: 0,
      invalid: 0,
    });
    expect(await test.runtime.database.db.selectFrom('outbox_events').selectAll().where('type', 'like', 'product.%').execute()).toEqual([]);
  });

  it('cancels a queued job at once and a running one between batches; retry goes on to the same end state', async () => {
    // Queued for sure: uploaded through an app on the same store that runs no jobs.
    const idle = await startTestApp(dialect, {}, test.store, { runJobs: false });
    let queued: JobJson;
    try {
      queued = (await uploadRaw(idle.app, catalog(5, { skuPrefix: 'Q' }))).json() as JobJson;
      const cancelledQueued = await idle.app.inject({ method: 'POST', url: `/api/jobs/${queued.id}/cancel` });
      expect(cancelledQueued.statusCode).toBe(200);
      expect(cancelledQueued.json()).toMatchObject({ id: queued.id, status: 'cancelled', rows_processed: 0 });
    } finally {
      await idle.close();
    }

    const running = (await uploadRaw(test.app, bigFile, { filename: 'big.csv' })).json() as JobJson;
    const hold = await holdImportAtNextBatch(test, running.id);
    try {
      const cancel = await test.app.inject({ method: 'POST', url: `/api/jobs/${running.id}/cancel` });
      expect(cancel.statusCode).toBe(200);
      // Held at a batch commit, it cannot have stopped: the cancel waits for its next boundary.
      expect(cancel.json()).toMatchObject({ id: running.id, status: 'running' });
    } finally {
      await hold.release();
    }
    const cancelled = await waitForJob(test.app, running.id);
    expect(cancelled.status).toBe('cancelled');
    expect(Number(cancelled.rows_processed)).toBeGreaterThan(0);
    expect(Number(cancelled.rows_processed)).toBeLessThan(BIG_ROWS);
    // Rows already committed stay.
    const bigProducts = await test.runtime.database.db.selectFrom('products').select('id').where('sku_key', 'like', 'big-%').execute();
    expect(bigProducts.length).toBe(cancelled.inserted);

    expect((await test.app.inject({ method: 'POST', url: `/api/jobs/${running.id}/cancel` })).statusCode).toBe(409);
    const failedEvents = (await outbox('import.failed')).map((event) => JSON.parse(event.data) as { job_id: string; status: string });
    expect(failedEvents.filter((event) => event.job_id === running.id)).toEqual([expect.objectContaining({ status: 'cancelled' })]);

    // The queued job never ran: retry runs it from its stored file.
    const retryQueued = await test.app.inject({ method: 'POST', url: `/api/jobs/${queued.id}/retry` });
    expect(retryQueued.statusCode).toBe(202);
    expect(retryQueued.json()).toMatchObject({ id: queued.id, status: 'queued' });
    expect(await waitForJob(test.app, queued.id)).toMatchObject({ status: 'completed', inserted: 5 });

    const retry = await test.app.inject({ method: 'POST', url: `/api/jobs/${running.id}/retry` });
    expect(retry.statusCode, retry.body).toBe(202);
    const done = await waitForJob(test.app, running.id, undefined, 90_000);
    expect(done).toMatchObject({ status: 'completed', rows_processed: BIG_ROWS, inserted: BIG_ROWS, updated: 0, unchanged: 0, invalid: 0, percent: 100 });
    expect((await test.app.inject({ method: 'POST', url: `/api/jobs/${running.id}/retry` })).statusCode).toBe(409);
    expect((await test.app.inject({ method: 'POST', url: `/api/jobs/${running.id}/cancel` })).statusCode).toBe(409);
    expect(fs.existsSync(String((await test.runtime.database.db.selectFrom('jobs').select('file_path').where('id', '=', running.id).executeTakeFirstOrThrow()).file_path ?? 'gone'))).toBe(false);
  }, 120_000); // two passes over a 50k-row file and a held cancel: more than the default 30 s on a loaded 2-core machine

  it('refuses a retry once the stored file is no longer kept', async () => {
    const job = await importFile(test.app, catalog(3, { skuPrefix: 'GONE' }));
    // As after the retention period: the job failed and its file was deleted.
    await test.runtime.database.db.updateTable('jobs').set({ status: 'failed', file_path: null, error: 'x' }).where('id', '=', job.id).execute();
    const retry = await test.app.inject({ method: 'POST', url: `/api/jobs/${job.id}/retry` });
    expect(retry.statusCode).toBe(409);
    expect(retry.json()).toMatchObject({ detail: expect.stringMatching(/upload it again/) });
  });

  it('bulk delete: 422 without confirm, deletes everything as a job with progress, one products.bulk_deleted event', async () => {
    for (const payload of [{}, { confirm: false }, { confirm: 'true' }]) {
      const refused = await test.app.inject({ method: 'POST', url: '/api/products/bulk-delete', payload });
      expect(refused.statusCode, JSON.stringify(payload)).toBe(422);
    }
    expect((await test.app.inject({ method: 'DELETE', url: '/api/products/bulk' })).statusCode).toBe(422);
    expect((await test.app.inject({ method: 'DELETE', url: '/api/products/bulk?confirm=false' })).statusCode).toBe(422);

    await importFile(test.app, catalog(12_345, { skuPrefix: 'DEL' }));
    const total = await productCount();
    expect(total).toBeGreaterThan(12_000);
    const response = await test.app.inject({ method: 'POST', url: '/api/products/bulk-delete', payload: { confirm: true } });
    expect(response.statusCode).toBe(202);
    const accepted = response.json() as JobJson;
    expect(accepted).toMatchObject({ type: 'bulk_delete', status: 'queued' });
    expect(accepted.job_id).toBe(accepted.id);
    const done = await waitForJob(test.app, accepted.id);
    expect(done).toMatchObject({ status: 'completed', rows_total: total, rows_processed: total, percent: 100, bytes_total: 0 });
    expect(await productCount()).toBe(0);
    const events = (await outbox('products.bulk_deleted')).map((event) => JSON.parse(event.data) as Record<string, unknown>);
    expect(events).toEqual([expect.objectContaining({ job_id: accepted.id, deleted: total, status: 'completed' })]);
    expect(await test.runtime.database.db.selectFrom('outbox_events').selectAll().where('type', '=', 'product.deleted').execute()).toEqual([]);

    const alias = await test.app.inject({ method: 'DELETE', url: '/api/products/bulk?confirm=true' });
    expect(alias.statusCode).toBe(202);
    expect(await waitForJob(test.app, (alias.json() as JobJson).id)).toMatchObject({ status: 'completed', rows_total: 0, rows_processed: 0, percent: 100 });
  });
});
