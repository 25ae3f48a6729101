import fs from 'node:fs';
import zlib from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ImportFailedError } from '../../src/imports/imports.errors.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { countsOf, openImportHarness, type ImportHarness, type StoredProduct } from './import-helpers.js';

const LONG_SKU = 'S'.repeat(256);
/** Every kind of row, valid and not, with the line each record starts on (header = line 1). */
const CORPUS = [
  '\uFEFF SKU , Name ,Description,Price,Active,Color\r\n', // 1
  'ABC-1,Widget,"Says ""hi"", twice",12.50,yes,red\r\n', // 2: inserted
  ' abc-1 ,Widget v2,"multi\r\nline",12.5,TRUE,blue\r\n', // 3-4: same SKU (case, spaces): updated
  'ÉCOLE-1,École,,,,\r\n', // 5: inserted, empty cells = defaults
  'e\u0301cole-1,école lower,,0,no,\r\n', // 6: same key once NFC-normalised and lower-cased: updated
  ',Empty sku,,1,1,\r\n', // 7
  'BAD\u0007SKU,Bell,,1,1,\r\n', // 8
  `${LONG_SKU},Long,,1,1,\r\n`, // 9
  'NAME-BLANK,   ,,1,1,\r\n', // 10
  `NAME-LONG,${'n'.repeat(1025)},,1,1,\r\n`, // 11
  `DESC-LONG,Desc,${'d'.repeat(10_001)},1,1,\r\n`, // 12
  'PRICE-BAD,Price,,12.345,1,\r\n', // 13
  'PRICE-NEG,Price,,-1,1,\r\n', // 14
  'ACTIVE-BAD,Active,,1,maybe,\r\n', // 15
  'FIELDS-FEW,Few\r\n', // 16
  '"MULTI\r\nLINE",x,,1,1,\r\n', // 17-18: a newline in a SKU
  'GOOD-2,"Ünïcödé 😀 name",plain,0.5,0,green\r\n', // 19: inserted
  '\r\n', // 20: blank, skipped
  'GOOD-3,Last,,,,', // 21: inserted, no final newline
].join('');

const CORPUS_ERRORS = [
  { line: 7, sku: null, field: 'sku', message: 'SKU is empty' },
  { line: 8, sku: 'BAD\u0007SKU', field: 'sku', message: 'SKU contains a control character' },
  { line: 9, sku: LONG_SKU.slice(0, 255), field: 'sku', message: 'SKU is longer than 255 characters' },
  { line: 10, sku: 'NAME-BLANK', field: 'name', message: 'Name is blank' },
  { line: 11, sku: 'NAME-LONG', field: 'name', message: 'Name is longer than 1024 characters' },
  { line: 12, sku: 'DESC-LONG', field: 'description', message: 'Description is longer than 10000 characters' },
  { line: 13, sku: 'PRICE-BAD', field: 'price', message: expect.stringContaining('12.345') },
  { line: 14, sku: 'PRICE-NEG', field: 'price', message: expect.stringContaining('decimal ≥ 0') },
  { line: 15, sku: 'ACTIVE-BAD', field: 'active', message: expect.stringContaining('"maybe"') },
  { line: 16, sku: 'FIELDS-FEW', field: null, message: 'Expected 6 fields, found 2' },
  { line: 17, sku: 'MULTI\r\nLINE', field: 'sku', message: 'SKU contains a control character' },
];

const CORPUS_PRODUCTS = [
  { sku: 'abc-1', name: 'Widget v2', description: 'multi\r\nline', price_cents: 1250, active: 1 },
  { sku: 'GOOD-2', name: 'Ünïcödé 😀 name', description: 'plain', price_cents: 50, active: 0 },
  { sku: 'GOOD-3', name: 'Last', description: null, price_cents: null, active: 1 },
  // Ordered by sku_key, byte-wise: é sorts after ASCII.
  { sku: 'e\u0301cole-1', sku_key: 'école-1', name: 'école lower', description: null, price_cents: 0, active: 0 },
];

const productValues = (products: StoredProduct[]) =>
  products.map(({ sku, name, description, price_cents, active }) => ({ sku, name, description, price_cents, active }));

describeEachDialect('importCsvFile on %s', (dialect) => {
  let harness: ImportHarness;
  beforeAll(async () => {
    harness = await openImportHarness(dialect);
  });
  afterAll(async () => {
    await harness?.close();
  });
  const reset = async () => {
    await harness.runtime.database.db.deleteFrom('products').execute();
  };

  it('reports once, at its end, where its time went: the pipeline\'s phases and the sink\'s', async () => {
    await reset();
    const jobId = await harness.createJob(harness.writeFile('phases.csv', CORPUS));
    const reports: Record<string, number>[] = [];
    await harness.run(jobId, { onPhases: (phases) => reports.push(phases) });
    expect(reports).toHaveLength(1);
    const phases = reports[0]!;
    for (const phase of ['total', 'start', 'read', 'parse', 'validate', 'stage', 'merge', 'checkpoint', 'commit']) {
      expect(phases[phase], phase).toBeGreaterThanOrEqual(0);
    }
  });

  it('imports a tricky file: BOM, CRLF, quotes, unicode, case and space variants, every kind of invalid row', async () => {
    await reset();
    const file = harness.writeFile('corpus.csv', CORPUS);
    const jobId = await harness.createJob(file);
    const { outcome, progress } = await harness.run(jobId);
    expect(outcome).toEqual({ status: 'completed' });

    const job = await harness.job(jobId);
    expect(countsOf(job)).toEqual({ rows_processed: 17, inserted: 4, updated: 2, unchanged: 0, invalid: 11 });
    expect(JSON.parse(job.warnings as string)).toEqual(['Unknown columns ignored: Color']);
    expect(job).toMatchObject({ phase: 'finalizing', bytes_processed: fs.statSync(file).size, checkpoint_offset: fs.statSync(file).size });
    expect(job.status).toBe('running'); // the caller owns terminal statuses

    const products = await harness.products();
    expect(products).toMatchObject(CORPUS_PRODUCTS);
    expect(products[3]?.sku_key).toBe('école-1');
    const errors = await harness.errors(jobId);
    expect(errors).toMatchObject(CORPUS_ERRORS);
    expect(errors.find((error) => error.line === 16)?.raw).toBe('FIELDS-FEW,Few');

    expect(progress.at(-1)).toMatchObject({ phase: 'finalizing', rows_processed: 17, invalid: 11 });
    const bytes = progress.map((update) => update.bytes_processed);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
  });

  it('imports the same corpus from a .csv.gz, measuring progress in compressed bytes', async () => {
    await reset();
    const file = harness.writeFile('corpus.csv.gz', CORPUS);
    const jobId = await harness.createJob(file);
    expect((await harness.run(jobId)).outcome).toEqual({ status: 'completed' });
    const job = await harness.job(jobId);
    expect(countsOf(job)).toEqual({ rows_processed: 17, inserted: 4, updated: 2, unchanged: 0, invalid: 11 });
    expect(job.bytes_processed).toBe(fs.statSync(file).size);
    expect(await harness.products()).toMatchObject(CORPUS_PRODUCTS);
    expect(await harness.errors(jobId)).toMatchObject(CORPUS_ERRORS);
  });

  it('never changes a column the file does not have, and counts against existing products', async () => {
    await reset();
    const seed = harness.writeFile('seed.csv', 'sku,name,description,price,active\nExisting-1,Old,keep me,1.00,0\nSame-1,Same,d,2.00,1\n');
    await harness.run(await harness.createJob(seed));
    const before = await harness.products();

    const file = harness.writeFile('names-only.csv', 'Name,SKU\nNew name,EXISTING-1\nSame,Same-1\nFresh,NEW-1\n');
    const jobId = await harness.createJob(file);
    await harness.run(jobId);
    expect(countsOf(await harness.job(jobId))).toEqual({ rows_processed: 3, inserted: 1, updated: 1, unchanged: 1, invalid: 0 });
    const after = await harness.products();
    expect(productValues(after)).toEqual([
      { sku: 'EXISTING-1', name: 'New name', description: 'keep me', price_cents: 100, active: 0 },
      { sku: 'NEW-1', name: 'Fresh', description: null, price_cents: null, active: 1 },
      { sku: 'Same-1', name: 'Same', description: 'd', price_cents: 200, active: 1 },
    ]);
    const same = (list: typeof before) => list.find((product) => product.sku_key === 'same-1');
    expect(same(after)?.updated_at).toBe(same(before)?.updated_at);
    expect(after[0]?.created_at).toBe(before[0]?.created_at);

    // A present column with an empty cell is the field's default: price unknown, description none.
    const clearing = harness.writeFile('clear.csv', 'sku,name,price,description\nexisting-1,New name,,\n');
    await harness.run(await harness.createJob(clearing));
    expect((await harness.products())[0]).toMatchObject({ sku: 'existing-1', price_cents: null, description: null, active: 0 });
  });

  it('lets the last row of a SKU win and counts every row in file order, whatever the batch size', async () => {
    const text = 'sku,name,price\nX-1,A,1\nx-1,A,1\nX-1 ,B,1\nY-1,C,\nX-1,B,1\nY-1,C,\nbad,,\nx-1,Z,2\n';
    const results = [];
    for (const batchRows of [1, 2, 3, 1000]) {
      await reset();
      const jobId = await harness.createJob(harness.writeFile(`last-wins-${batchRows}.csv`, text));
      await harness.run(jobId, { batchRows });
      results.push({ counts: countsOf(await harness.job(jobId)), products: productValues(await harness.products()) });
    }
    for (const result of results) expect(result).toEqual(results[0]);
    expect(results[0]).toEqual({
      // X-1 new; x-1 (casing) and "X-1 ",B updated; Y-1 new; X-1,B and Y-1 again unchanged; bad invalid; x-1,Z updated.
      counts: { rows_processed: 8, inserted: 2, updated: 3, unchanged: 2, invalid: 1 },
      products: [
        { sku: 'x-1', name: 'Z', description: null, price_cents: 200, active: 1 },
        { sku: 'Y-1', name: 'C', description: null, price_cents: null, active: 1 },
      ],
    });
  });

  it('rejects a row holding NUL or bytes that are not UTF-8 after the first 64 KiB as a row, never failing the import', async () => {
    await reset();
    const valid = (from: number, count: number) => Array.from({ length: count }, (_, i) => `V-${from + i},Valid ${from + i},${'d'.repeat(40)}\n`).join('');
    const head = `sku,name,description\n${valid(0, 2000)}`; // ~110 KiB: past the upload's 64 KiB binary sniff
    expect(Buffer.byteLength(head)).toBeGreaterThan(64 * 1024);
    const file = harness.writeFile(
      'nul.csv',
      Buffer.concat([
        Buffer.from(head),
        Buffer.from('NUL\u0000-1,Has a NUL,x\n'), // line 2002
        Buffer.from(valid(2000, 10)),
        Buffer.from('BAD-UTF8-1,'), // line 2013
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from(',x\n'),
        Buffer.from(valid(2010, 10)),
      ]),
    );
    const jobId = await harness.createJob(file);
    expect((await harness.run(jobId, { batchRows: 500 })).outcome).toEqual({ status: 'completed' });
    expect(countsOf(await harness.job(jobId))).toEqual({ rows_processed: 2022, inserted: 2020, updated: 0, unchanged: 0, invalid: 2 });
    expect(await harness.errors(jobId)).toEqual([
      { line: 2002, sku: 'NUL\u2400-1', field: null, message: 'The row contains a NUL character', raw: 'NUL\u2400-1,Has a NUL,x' },
      { line: 2013, sku: 'BAD-UTF8-1', field: null, message: 'The row is not valid UTF-8 text', raw: 'BAD-UTF8-1,\uFFFD\uFFFD\uFFFD,x' },
    ]);
    expect((await harness.products()).length).toBe(2020);
  });

  it('rejects a record over the size limit as one row, without failing the import, and imports the rows around it', async () => {
    await reset();
    const huge = `"${'Long ""quoted"" text\n'.repeat(60_000)}"`; // ~1.3 MiB, over the 1 Mi-character limit
    const big = `"${'""\n'.repeat(300_000)}"`; // ~880 KiB of doubled quotes and newlines: under the limit
    const text = `sku,name,description\nA-1,a,x\nHUGE-1,h,${huge}\nB-1,b,x\nBIG-1,b,${big}\nC-1,c,x\nOPEN-1,o,"never closed\n${'z'.repeat(1 << 20)}\n`;
    const jobId = await harness.createJob(harness.writeFile('oversized.csv', text));
    expect((await harness.run(jobId)).outcome).toEqual({ status: 'completed' });
    expect(countsOf(await harness.job(jobId))).toEqual({ rows_processed: 6, inserted: 3, updated: 0, unchanged: 0, invalid: 3 });
    expect((await harness.products()).map((product) => product.sku)).toEqual(['A-1', 'B-1', 'C-1']);
    const errors = await harness.errors(jobId);
    expect(errors.map(({ line, sku, message }) => ({ line, sku, message }))).toEqual([
      { line: 3, sku: 'HUGE-1', message: 'Malformed CSV: the record is longer than 1048576 characters (the limit); it was skipped' },
      { line: 60_005, sku: 'BIG-1', message: 'Description is longer than 10000 characters' },
      { line: 360_007, sku: 'OPEN-1', message: expect.stringMatching(/longer than 1048576 characters/) },
    ]);
    expect(errors[0]?.raw).toHaveLength(16 * 1024);
    expect(errors[0]?.raw?.startsWith('HUGE-1,h,"Long ""quoted"" text\n')).toBe(true);
  });

  it('completes a header-only file with zero rows', async () => {
    const jobId = await harness.createJob(harness.writeFile('header-only.csv', '\uFEFFsku,name\r\n'));
    const { outcome, progress } = await harness.run(jobId);
    expect(outcome).toEqual({ status: 'completed' });
    expect(countsOf(await harness.job(jobId))).toEqual({ rows_processed: 0, inserted: 0, updated: 0, unchanged: 0, invalid: 0 });
    expect(progress.at(-1)?.phase).toBe('finalizing');
  });

  it('fails a gzip bomb, a truncated gzip and an over-limit file cleanly with ImportFailedError', async () => {
    const bomb = Buffer.concat([Buffer.from('sku,name\n'), Buffer.alloc(20 * 1024 ** 2, '\n')]);
    const bombJob = await harness.createJob(harness.writeFile('bomb.csv.gz', bomb));
    expect(fs.statSync(harness.store.dataDir + '/bomb.csv.gz').size).toBeLessThan(200_000);
    await expect(harness.run(bombJob)).rejects.toThrow(/gzip bomb/);

    const whole = zlib.gzipSync(Buffer.from(`sku,name\n${Array.from({ length: 50_000 }, (_, i) => `T-${i},Row ${i} ${Math.random()}`).join('\n')}`));
    const truncated = harness.writeFile('truncated.csv', whole.subarray(0, Math.floor(whole.length / 2)));
    fs.renameSync(truncated, `${truncated}.gz`);
    const truncatedJob = await harness.createJob(`${truncated}.gz`);
    const failure = await harness.run(truncatedJob).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImportFailedError);
    expect((failure as Error).message).toMatch(/not valid gzip/);

    const limited = await harness.createJob(harness.writeFile('limited.csv.gz', 'sku,name\n' + 'A-1,x\n'.repeat(1000)));
    await expect(harness.run(limited, { limits: { maxDecompressedBytes: 1000, maxCompressionRatio: 200 } })).rejects.toThrow(
      /decompresses to more than 1000 bytes/,
    );
  });

  it('resumes a cancelled import from its checkpoint to exactly the state and counts of an uninterrupted run', async () => {
    const lines = ['Name,SKU,Description,Price'];
    for (let i = 0; i < 300; i++) {
      const sku = i % 7 === 0 ? `SKU-${i % 40}`.toLowerCase() : `SKU-${i % 90}`;
      const description = i % 4 === 0 ? `"multi\nline ""${i}"""` : `plain ${i % 3}`;
      const price = i % 11 === 0 ? 'bad' : `${i % 5}.50`;
      lines.push(`Name ${i % 13},${sku},${description},${price}`);
    }
    const text = `${lines.join('\r\n')}\r\n`;
    for (const name of ['resume.csv', 'resume.csv.gz']) {
      await reset();
      const straightJob = await harness.createJob(harness.writeFile(`straight-${name}`, text));
      await harness.run(straightJob, { batchRows: 1000 });
      const straight = { counts: countsOf(await harness.job(straightJob)), products: productValues(await harness.products()), errors: await harness.errors(straightJob) };

      // Cancelled before the 4th batch: 3 batches written one by one; or, where PostgreSQL writes
      // staged batches together every 60 rows, only the first (always written alone): the 2nd and
      // 3rd, staged, are dropped.
      for (const [mergeRows, committedRows] of [[undefined, 23 * 3], [60, 23]] as const) {
        if (mergeRows !== undefined && dialect !== 'postgres') continue;
        await reset();
        const jobId = await harness.createJob(harness.writeFile(`${mergeRows ?? 'each'}-${name}`, text));
        let checks = 0;
        const first = await harness.run(jobId, { batchRows: 23, mergeRows, isCancelled: () => ++checks > 3 });
        expect(first.outcome).toEqual({ status: 'cancelled' });
        const halfway = await harness.job(jobId);
        expect(halfway.rows_processed).toBe(committedRows);
        expect(halfway.checkpoint_offset).toBeGreaterThan(0);
        const second = await harness.run(jobId, { batchRows: 37, mergeRows });
        expect(second.outcome).toEqual({ status: 'completed' });
        const resumed = { counts: countsOf(await harness.job(jobId)), products: productValues(await harness.products()), errors: await harness.errors(jobId) };
        expect(resumed).toEqual(straight);
      }
      expect(straight.counts.rows_processed).toBe(300);
    }
  });
});
