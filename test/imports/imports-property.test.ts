import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { skuKey } from '../../src/products/products.rules.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { countsOf, openImportHarness, type ImportHarness } from './import-helpers.js';

// Random files of valid and invalid rows: after importing them, the database must equal a
// plain in-memory model of the rules, and the job's counts the model's counts.

const OPTIONAL = ['description', 'price', 'active'] as const;
type Optional = (typeof OPTIONAL)[number];

interface Row {
  sku: string;
  name: string;
  description: string;
  price: string;
  active: string;
  /** Drop the last field: a record with the wrong number of fields. */
  short: boolean;
}

interface ModelProduct {
  sku: string;
  name: string;
  description: string | null;
  price_cents: number | null;
  active: number;
}

const skuArb = fc
  .tuple(fc.constantFrom('ab-1', 'AB-2', 'école-3', 'x'), fc.constantFrom('', ' ', '  '), fc.boolean())
  .map(([base, pad, upper]) => `${pad}${upper ? base.toUpperCase() : base}${pad}`);
const rowArb: fc.Arbitrary<Row> = fc.record({
  sku: fc.oneof({ weight: 9, arbitrary: skuArb }, { weight: 1, arbitrary: fc.constantFrom('', '  ', 'bad\tsku') }),
  name: fc.constantFrom('Widget', 'Gadget, "deluxe"', 'multi\nline', '', '   '),
  description: fc.constantFrom('', 'plain', 'with, comma', 'line\r\nbreak'),
  price: fc.constantFrom('', '0', '1.5', '12.34', '1.234', 'abc'),
  active: fc.constantFrom('', 'true', 'NO', '1', '0', 'maybe'),
  // About one row in ten: drawn from fast-check (not Math.random), so a failure replays from its seed.
  short: fc.integer({ min: 0, max: 9 }).map((draw) => draw === 0),
});
const fileArb = fc.record({
  columns: fc.subarray([...OPTIONAL]).chain((optional) => fc.shuffledSubarray(['sku', 'name', ...optional], { minLength: 2 + optional.length })),
  rows: fc.array(rowArb, { maxLength: 30 }),
  batchRows: fc.integer({ min: 1, max: 7 }),
  /** PostgreSQL: staged batches written together every this many rows (SQLite writes each batch). */
  mergeRows: fc.integer({ min: 1, max: 20 }),
});

function cell(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvLine(columns: string[], row: Row): string {
  const cells = columns.map((column) => cell(row[column as keyof Row] as string));
  return (row.short ? cells.slice(0, -1) : cells).join(',');
}

function toCsv(columns: string[], rows: Row[]): string {
  return `${[columns.join(','), ...rows.map((row) => csvLine(columns, row))].join('\n')}\n`;
}

/** The rules, applied one row at a time. */
function applyModel(state: Map<string, ModelProduct>, columns: string[], rows: Row[]) {
  const counts = { rows_processed: 0, inserted: 0, updated: 0, unchanged: 0, invalid: 0 };
  const has = (column: Optional) => columns.includes(column);
  for (const row of rows) {
    // A short row of empty cells is written as a blank line, which is skipped and not counted.
    if (csvLine(columns, row) === '') continue;
    counts.rows_processed++;
    const price = row.price.trim();
    const active = row.active.trim().toLowerCase();
    const valid =
      !row.short &&
      row.sku.trim() !== '' &&
      !/\p{Cc}/u.test(row.sku) &&
      row.name.trim() !== '' &&
      (!has('price') || price === '' || /^\d{1,12}(\.\d{1,2})?$/.test(price)) &&
      (!has('active') || ['', 'true', 'false', '1', '0', 'yes', 'no'].includes(active));
    if (!valid) {
      counts.invalid++;
      continue;
    }
    const given: Partial<ModelProduct> = { sku: row.sku.trim(), name: row.name };
    if (has('description')) given.description = row.description === '' ? null : row.description;
    if (has('price')) given.price_cents = price === '' ? null : Math.round(Number(price) * 100);
    if (has('active')) given.active = ['false', '0', 'no'].includes(active) ? 0 : 1;
    const key = skuKey(row.sku);
    const before = state.get(key);
    const after: ModelProduct = { ...(before ?? { description: null, price_cents: null, active: 1 }), ...given } as ModelProduct;
    if (!before) counts.inserted++;
    else if (JSON.stringify(before) === JSON.stringify(after)) counts.unchanged++;
    else counts.updated++;
    state.set(key, after);
  }
  return counts;
}

describeEachDialect('import property on %s', (dialect) => {
  let harness: ImportHarness;
  beforeAll(async () => {
    harness = await openImportHarness(dialect);
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('leaves the database and the counts exactly as the in-memory model of the rules', async () => {
    let file = 0;
    await fc.assert(
      fc.asyncProperty(fc.tuple(fileArb, fileArb), async (imports) => {
        await harness.runtime.database.db.deleteFrom('products').execute();
        const model = new Map<string, ModelProduct>();
        for (const { columns, rows, batchRows, mergeRows } of imports) {
          const expected = applyModel(model, columns, rows);
          const jobId = await harness.createJob(harness.writeFile(`property-${file++}.csv`, toCsv(columns, rows)));
          await harness.run(jobId, { batchRows, mergeRows });
          expect(countsOf(await harness.job(jobId))).toEqual(expected);
          const stored = (await harness.products()).map(({ sku_key, sku, name, description, price_cents, active }) => [
            sku_key,
            { sku, name, description, price_cents, active },
          ]);
          expect(new Map(stored as Array<[string, ModelProduct]>)).toEqual(model);
        }
      }),
      { numRuns: dialect === 'sqlite' ? 60 : 30 },
    );
  });
});
