import http from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { multipartBody } from '../jobs/job-helpers.js';
import { monitorMainThreadBusy, type MainThreadBusyMonitor } from '../support/main-thread-busy.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Generated files through the real upload (HTTP on a listening server) on both databases:
// random bytes, random and broken quoting, long and oversized fields, NUL, bytes that are not
// UTF-8, CR-only line ends, huge headers, gzip of all that. Properties: the upload answers
// 202 or a 4xx {"detail"}; every accepted job ends, and completes (none of these files should fail), with
// inserted + updated + unchanged + invalid = rows_processed; the main thread is never busy more
// than 50 ms at a time (imports run in worker threads; the upload and its header check run on the
// main thread; measured as CPU time, see main-thread-busy.ts); the process's memory stays bounded;
// the server stays healthy. Before them, the files that once held the main thread or failed imports.
//
// `npm test` runs a bounded count with a fixed seed; `npm run fuzz:csv` runs more
// (FUZZ_RUNS, FUZZ_SEED override both).

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
/** Replays one failing case: the `path` fast-check printed with its counterexample. */
const PATH = process.env.FUZZ_PATH;
/** The longest the main thread may be busy at once. */
const MAX_MAIN_THREAD_BUSY_MS = 50;
/** Resident memory the process may grow by while one file is uploaded and imported. */
const MAX_RSS_GROWTH_BYTES = 256 * 1024 ** 2;

const bytes = (text: string) => Buffer.from(text, 'utf8');

const plainCell = fc.string({ unit: fc.constantFrom('a', 'Z', '1', '.', ' ', 'é', '😀', '-', '\t'), maxLength: 12 });
const quotedCell = fc
  .string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', '\r\n', ' ', 'ü'), maxLength: 16 })
  .map((text) => `"${text.replaceAll('"', '""')}"`);
const brokenCell = fc.constantFrom('"unterminated', 'a"b', '"x"y', '"', '""""', '"a""');
const priceCell = fc.constantFrom('', '1.00', '0', '-1', '1e3', 'abc', '12.345', '99999999999999', ' 5 ');
const activeCell = fc.constantFrom('', 'true', 'no', 'maybe', '1', 'YES');
/** Fields near and over the limits: a long description, a 1.1 Mi-character one, a quoted field of doubled quotes and newlines. */
const longCell = fc.constantFrom(
  'L'.repeat(10_001),
  'L'.repeat(70_000),
  'M'.repeat(1_100_000),
  `"${'""\n'.repeat(100_000)}"`,
  `"${'x'.repeat(1_100_000)}"`,
);

/** One piece of a row: text cells, or raw bytes (NUL, invalid UTF-8, anything). */
const rowPart: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 10, arbitrary: fc.oneof(plainCell, quotedCell, priceCell, activeCell).map(bytes) },
  { weight: 2, arbitrary: brokenCell.map(bytes) },
  { weight: 2, arbitrary: plainCell.map((text) => bytes(`${text}\u0000`)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbf, 0xbd]).map((list) => Buffer.from(list)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }).map((array) => Buffer.from(array)) },
  { weight: 1, arbitrary: longCell.map(bytes) },
);
const row = fc.array(rowPart, { minLength: 1, maxLength: 7 }).map((parts) => parts.flatMap((part, index) => (index === 0 ? [part] : [bytes(','), part])));

const header = fc.oneof(
  { weight: 6, arbitrary: fc.constant(bytes('sku,name,description,price,active')) },
  fc.constantFrom('sku,name,description,price,active', 'SKU, Name ,Price', 'name,sku', 'sku,name,sku', 'foo,bar', '', '"sku","name"').map(bytes),
  // Unknown columns, a few or thousands; a header far over 64 KiB; one of doubled quotes (640 KB).
  fc.constantFrom(3, 5_000, 120_000).map((count) => bytes(`sku,name,${Array.from({ length: count }, (_, i) => `extra${i}`).join(',')}`)),
  fc.constant(bytes(`"${'""'.repeat(320_000)}"`)),
  fc.uint8Array({ maxLength: 64 }).map((array) => Buffer.from(array)),
);

interface GeneratedFile {
  content: Buffer;
  gzip: boolean;
  multipart: boolean;
}

const csvFile: fc.Arbitrary<GeneratedFile> = fc
  .record({
    bom: fc.boolean(),
    header,
    // Clean rows first, so that NUL and bad bytes after them get past the upload's 64 KiB binary sniff.
    padding: fc.boolean(),
    rows: fc.array(row, { maxLength: 30 }),
    eol: fc.constantFrom('\n', '\n', '\r\n', '\r'),
    trailingEol: fc.boolean(),
    gzip: fc.boolean(),
    multipart: fc.boolean(),
  })
  .map(({ bom, header, padding, rows, eol, trailingEol, gzip, multipart }) => {
    const clean = padding ? Array.from({ length: 1200 }, (_, i) => bytes(`PAD-${i},Padding row ${i},${'p'.repeat(40)},1.00,yes`)) : [];
    const lines = [header, ...clean, ...rows.map((parts) => Buffer.concat(parts))];
    const parts: Buffer[] = bom ? [bytes('\uFEFF')] : [];
    lines.forEach((line, index) => {
      parts.push(line);
      if (index < lines.length - 1 || trailingEol) parts.push(bytes(eol));
    });
    const text = Buffer.concat(parts);
    return { content: gzip ? gzipSync(text) : text, gzip, multipart };
  });

interface JobJson {
  id: string;
  status: string;
  error: string | null;
  rows_processed: number;
  inserted: number;
  updated: number;
  unchanged: number;
  invalid: number;
}

describeEachDialect('CSV upload fuzz (%s)', (dialect) => {
  let test: TestApp;
  let baseUrl: string;
  let busy: MainThreadBusyMonitor;
  beforeAll(async () => {
    test = await startTestApp(dialect, { MAX_UPLOAD_BYTES: String(16 * 1024 ** 2) });
    baseUrl = await test.app.listen({ port: 0, host: '127.0.0.1' });
    busy = monitorMainThreadBusy();
    // One upload first: loading code on first use is a one-off cost, not a file holding the thread.
    const warmUp = await upload({ content: bytes('sku,name\nWARM-1,x\n'), gzip: false, multipart: true });
    await finishedJob(warmUp.body.id as string, () => undefined);
  });
  afterAll(async () => {
    busy?.stop();
    await test?.close();
  });

  /**
   * Posts the file with node:http, its body written in one piece: the client shares the main thread
   * with the server under test, so it should add as little work (and garbage) there as it can.
   */
  async function upload(file: GeneratedFile): Promise<{ status: number; body: { detail?: unknown; id?: string } }> {
    const { body, contentType } = file.multipart
      ? multipartBody('file', file.gzip ? 'fuzz.csv.gz' : 'fuzz.csv', file.content)
      : { body: file.content, contentType: file.gzip ? 'application/gzip' : 'text/csv' };
    return new Promise((resolve, reject) => {
      const request = http.request(`${baseUrl}/api/upload?filename=fuzz.csv`, { method: 'POST', headers: { 'content-type': contentType, 'content-length': body.length } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  /** Polls the job until it ends, sampling the process's resident memory meanwhile. */
  async function finishedJob(id: string, onSample: () => void): Promise<JobJson> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      onSample();
      const job = (await (await fetch(`${baseUrl}/api/jobs/${id}`)).json()) as JobJson;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} did not end in 60 s: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Uploads `file`, waits for its job if accepted; the main thread's longest busy stretch meanwhile. */
  async function uploadMeasured(file: GeneratedFile): Promise<{ status: number; body: { detail?: unknown; id?: string }; job: JobJson | null; busyMs: number }> {
    busy.reset();
    const { status, body } = await upload(file);
    const job = status === 202 ? await finishedJob(body.id as string, () => undefined) : null;
    return { status, body, job, busyMs: busy.maxBusyMs() };
  }

  it('keeps the main thread free and the import going for the files that once held it or failed it', async () => {
    const doubledQuotesHeader = bytes(`"${'""'.repeat(320_000)}"\nA-1,x\n`); // 640 KB
    for (const gzip of [false, true]) {
      const refused = await uploadMeasured({ content: gzip ? gzipSync(doubledQuotesHeader) : doubledQuotesHeader, gzip, multipart: false });
      expect(refused.status).toBe(400);
      expect(refused.body.detail).toMatch(/header row does not end within the first 65536 characters/);
      expect(refused.busyMs).toBeLessThan(MAX_MAIN_THREAD_BUSY_MS);
    }

    const manyColumns = bytes(`sku,name,${Array.from({ length: 120_000 }, (_, i) => `c${i}`).join(',')}\nA-1,x\n`);
    expect((await uploadMeasured({ content: manyColumns, gzip: false, multipart: false })).status).toBe(400);
    const wide = await uploadMeasured({ content: bytes(`sku,name,${Array.from({ length: 9_000 }, (_, i) => `c${i}`).join(',')}\n`), gzip: false, multipart: true });
    expect(wide.status).toBe(202);
    const jobs = (await (await fetch(`${baseUrl}/api/jobs?limit=1`)).json()) as Array<{ warnings: string[] }>;
    expect(jobs[0]?.warnings).toEqual([`Unknown columns ignored: ${Array.from({ length: 20 }, (_, i) => `c${i}`).join(', ')} … and 8,980 more`]);

    const quotedField = `"${'""\n'.repeat(300_000)}"`; // 880 KiB in one quoted field
    const rows = Array.from({ length: 3000 }, (_, i) => `FUZZ-OK-${i},Row ${i},${'d'.repeat(30)}\n`).join('');
    const file = bytes(`sku,name,description\n${rows}BIG-1,b,${quotedField}\nNUL-1,n\u0000,x\nAFTER-1,a,x\n`);
    const imported = await uploadMeasured({ content: file, gzip: false, multipart: false });
    expect(imported.status).toBe(202);
    expect(imported.job).toMatchObject({ status: 'completed', rows_processed: 3003, invalid: 2 });
    expect(imported.busyMs).toBeLessThan(MAX_MAIN_THREAD_BUSY_MS);
    const errors = (await (await fetch(`${baseUrl}/api/jobs/${imported.job?.id}/errors`)).json()) as Array<{ line: number; sku: string; message: string }>;
    expect(errors).toEqual([
      { line: 3002, sku: 'BIG-1', field: 'description', message: 'Description is longer than 10000 characters' },
      { line: 303_003, sku: 'NUL-1', field: null, message: 'The row contains a NUL character' },
    ]);
  });

  it(
    'answers every generated file with 202 or a 4xx {"detail"}, ends every job with consistent counts, never holds the main thread or grows memory',
    async () => {
      const tried = { accepted: 0, refused: 0, completed: 0, rows: 0, invalid: 0, refusals: {} as Record<string, number> };
      await fc.assert(
        fc.asyncProperty(csvFile, async (file) => {
          global.gc?.();
          const rssBefore = process.memoryUsage().rss;
          let rssPeak = rssBefore;
          const sample = () => {
            rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
          };
          busy.reset();
          const response = await upload(file);
          const { body } = response;
          if (response.status === 202) {
            tried.accepted++;
            const job = await finishedJob(body.id as string, sample);
            // A job may fail only with a message; none of these files should fail at all (they hold no
            // truncated gzip nor bomb): what one row holds is that row's problem, never the file's.
            if (job.status === 'failed') expect(job.error).toMatch(/\S/);
            expect(job.status, `job ${job.id}: ${job.error}`).toBe('completed');
            tried.completed++;
            expect(job.inserted + job.updated + job.unchanged + job.invalid).toBe(job.rows_processed);
            tried.rows += job.rows_processed;
            tried.invalid += job.invalid;
          } else {
            tried.refused++;
            const reason = String(typeof body.detail === 'string' ? body.detail : JSON.stringify(body.detail)).slice(0, 40);
            tried.refusals[reason] = (tried.refusals[reason] ?? 0) + 1;
            expect(response.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
            expect(response.status, JSON.stringify(body)).toBeLessThan(500);
            expect(typeof body.detail === 'string' || Array.isArray(body.detail)).toBe(true);
          }
          sample();
          expect(busy.maxBusyMs(), `longest main-thread busy stretch (ms, ${busy.measure})`).toBeLessThan(MAX_MAIN_THREAD_BUSY_MS);
          expect(rssPeak - rssBefore, 'resident memory growth (bytes)').toBeLessThan(MAX_RSS_GROWTH_BYTES);
          expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true, ...(PATH ? { path: PATH } : {}) },
      );
      console.info(`CSV fuzz on ${dialect}: seed ${SEED}, ${RUNS} files: ${JSON.stringify(tried)}`);
      expect(tried.accepted).toBeGreaterThan(0);
      expect(tried.refused).toBeGreaterThan(0);
    },
    RUNS * 10_000,
  );
});
