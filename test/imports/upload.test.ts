import fs from 'node:fs';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { catalog, csvText, uploadMultipart, uploadRaw, waitForJob, type JobJson } from '../jobs/job-helpers.js';

const MAX_UPLOAD_BYTES = 64 * 1024;

function uploadedFiles(test: TestApp): string[] {
  return fs.existsSync(test.config.uploadDir) ? fs.readdirSync(test.config.uploadDir) : [];
}

/** Files that appeared since `before` (an earlier job may remove its own file meanwhile). */
function filesAddedSince(test: TestApp, before: string[]): string[] {
  return uploadedFiles(test).filter((name) => !before.includes(name));
}

describeEachDialect('POST /api/upload (%s)', (dialect) => {
  let test: TestApp;
  beforeAll(async () => {
    test = await startTestApp(dialect, { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) });
  });
  afterAll(async () => {
    await test?.close();
  });

  it('takes a multipart upload, answers 202 with the job and imports it', async () => {
    const content = catalog(50);
    const response = await uploadMultipart(test.app, content, 'products.csv');
    expect(response.statusCode, response.body).toBe(202);
    const accepted = response.json() as JobJson;
    expect(accepted).toMatchObject({
      type: 'import',
      status: 'queued',
      filename: 'products.csv',
      bytes_total: Buffer.byteLength(content),
      file_sha256: createHash('sha256').update(content).digest('hex'),
      percent: 0,
      error: null,
      finished_at: null,
    });
    expect(accepted.job_id).toBe(accepted.id);
    const done = await waitForJob(test.app, accepted.id);
    expect(done).toMatchObject({ status: 'completed', percent: 100, rows_processed: 50, inserted: 50, invalid: 0, bytes_processed: Buffer.byteLength(content) });
    // A completed import's file is no longer kept (it is removed just after the job is marked completed).
    await expect.poll(() => uploadedFiles(test).filter((name) => name.startsWith(accepted.id))).toEqual([]);
  });

  it('takes a raw text/csv body with ?filename=', async () => {
    const response = await uploadRaw(test.app, catalog(10, { skuPrefix: 'RAW' }), { filename: 'raw export.csv', contentType: 'text/csv; charset=utf-8' });
    expect(response.statusCode, response.body).toBe(202);
    const job = await waitForJob(test.app, (response.json() as JobJson).id);
    expect(job).toMatchObject({ status: 'completed', filename: 'raw export.csv', inserted: 10 });
  });

  it('takes gzip, raw and multipart, recognised by content', async () => {
    const gz = gzipSync(catalog(20, { skuPrefix: 'GZ' }));
    const raw = await uploadRaw(test.app, gz, { contentType: 'application/gzip', filename: 'catalog.csv.gz' });
    expect(raw.statusCode, raw.body).toBe(202);
    const rawJob = await waitForJob(test.app, (raw.json() as JobJson).id);
    expect(rawJob).toMatchObject({ status: 'completed', rows_processed: 20, bytes_total: gz.length, percent: 100 });

    const multi = await uploadMultipart(test.app, gzipSync(catalog(5, { skuPrefix: 'GZM' })), 'm.csv.gz');
    expect(multi.statusCode, multi.body).toBe(202);
    expect(await waitForJob(test.app, (multi.json() as JobJson).id)).toMatchObject({ status: 'completed', rows_processed: 5 });
  });

  it('accepts a header-only file as a valid file with 0 rows', async () => {
    const response = await uploadRaw(test.app, 'sku,name\n');
    expect(response.statusCode, response.body).toBe(202);
    expect(await waitForJob(test.app, (response.json() as JobJson).id)).toMatchObject({ status: 'completed', rows_processed: 0 });
  });

  it.each([
    ['an empty file', '', /empty/i],
    ['only blank lines', '\n\n\n', /header/i],
    ['binary junk', Buffer.from([0, 1, 2, 3, 255, 254, 0, 9, 1, 2]), /binary|not a CSV|UTF-8/i],
    ['no sku column', 'name,price\nA,1\n', /sku/i],
    ['no name column', 'sku,price\nA,1\n', /name/i],
  ])('refuses %s with 400 naming the problem, keeping nothing', async (_what, content, message) => {
    const before = uploadedFiles(test);
    const response = await uploadRaw(test.app, content);
    expect(response.statusCode, response.body).toBe(400);
    expect((response.json() as { detail: string }).detail).toMatch(message);
    expect(filesAddedSince(test, before)).toEqual([]);
  });

  it('refuses a corrupt gzip with 400', async () => {
    const gz = gzipSync(catalog(50));
    const response = await uploadRaw(test.app, gz.subarray(0, 20), { contentType: 'application/gzip' });
    expect(response.statusCode, response.body).toBe(400);
  });

  it('answers 413 for an upload over MAX_UPLOAD_BYTES (declared length), keeping nothing', async () => {
    const before = uploadedFiles(test);
    const response = await uploadRaw(test.app, catalog(3000));
    expect(response.statusCode).toBe(413);
    expect((response.json() as { detail: string }).detail).toMatch(/MAX_UPLOAD_BYTES/);
    const multi = await uploadMultipart(test.app, catalog(3000));
    expect(multi.statusCode).toBe(413);
    expect(filesAddedSince(test, before)).toEqual([]);
  });

  it('answers 413 for a streamed (chunked) upload that goes over the limit, and deletes the partial file', async () => {
    const port = Number(new URL(await test.app.listen({ port: 0, host: '127.0.0.1' })).port);
    const before = uploadedFiles(test);
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/upload', headers: { 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      const line = `${'x'.repeat(1000)},name\n`;
      request.write('sku,name\n');
      let sent = 0;
      const pump = () => {
        while (sent < MAX_UPLOAD_BYTES * 3) {
          sent += line.length;
          if (!request.write(line)) return request.once('drain', pump);
        }
        request.end();
      };
      pump();
    });
    expect(status).toBe(413);
    // The partial file is removed as the refused request is torn down, which may end after the answer.
    await vi.waitFor(() => expect(filesAddedSince(test, before)).toEqual([]), { timeout: 5000, interval: 10 });
  });

  it('answers 415 for other media types', async () => {
    const json = await test.app.inject({ method: 'POST', url: '/api/upload', payload: { sku: 'x' } });
    expect(json.statusCode).toBe(415);
    const text = await test.app.inject({ method: 'POST', url: '/api/upload', headers: { 'content-type': 'text/plain' }, payload: 'sku,name\n' });
    expect(text.statusCode).toBe(415);
  });

  it('answers 422 when the multipart field is not "file"', async () => {
    const response = await uploadMultipart(test.app, catalog(1), 'a.csv', 'upload');
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ detail: [{ loc: ['body', 'file'] }] });
  });

  it('keeps the 1 MiB JSON body limit on other routes', async () => {
    const response = await test.app.inject({
      method: 'POST',
      url: '/api/products',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ sku: 'big', name: 'x'.repeat(1024 * 1024 + 10) }),
    });
    expect(response.statusCode).toBe(413);
  });

  it('records warnings for ignored columns and reports invalid rows with their lines', async () => {
    const content = csvText([
      ['SKU', ' Name ', 'colour', 'price'],
      ['W-1', 'Good', 'red', '1.00'],
      ['W-2', '', 'blue', '2.00'],
      ['W-3', 'Bad price', 'green', '-5'],
    ]);
    const response = await uploadRaw(test.app, content, { filename: 'warn.csv' });
    expect(response.statusCode, response.body).toBe(202);
    const job = await waitForJob(test.app, (response.json() as JobJson).id);
    expect(job).toMatchObject({ status: 'completed', rows_processed: 3, inserted: 1, invalid: 2 });
    expect((job.warnings as string[]).join(' ')).toMatch(/colour/);
  });
});
