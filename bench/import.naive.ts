// The "naive" reference of `npm run bench:import`: the import as an obvious implementation
// would write it, run in the benchmark's own process against a fresh database with our schema —
// parse the file with a CSV library, skip rows without a SKU or name, and upsert batches of rows
// with a multi-row `INSERT … ON CONFLICT DO UPDATE`, one transaction per batch. No staging, no
// per-row error records, no progress, no checkpoints, no crash safety: what the pipeline adds
// on top of this is what the comparison prices.

import fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import csvParser from 'csv-parser';
import pg from 'pg';

/** Rows per statement: 10,000 as the issue states it, fewer where the driver's parameter limit is lower. */
const POSTGRES_BATCH = 9_000; // 7 parameters a row; PostgreSQL takes at most 65,535 per statement
const SQLITE_BATCH = 4_000; // better-sqlite3 is built with at most 32,766 parameters per statement

interface NaiveRow {
  sku: string;
  skuKey: string;
  name: string;
  description: string | null;
  priceCents: number | null;
  active: number;
  now: string;
}

export interface NaiveResult {
  rows: number;
  skipped: number;
  seconds: number;
}

/** A batch of rows, the last row of a repeated SKU winning (an upsert may not touch one row twice). */
async function readBatches(file: string, batchSize: number, write: (rows: NaiveRow[]) => Promise<void>): Promise<{ rows: number; skipped: number }> {
  let batch = new Map<string, NaiveRow>();
  let rows = 0;
  let skipped = 0;
  for await (const record of fs.createReadStream(file).pipe(csvParser()) as AsyncIterable<Record<string, string>>) {
    rows += 1;
    const sku = (record.sku ?? '').trim();
    const name = (record.name ?? '').trim();
    if (!sku || !name) {
      skipped += 1;
      continue;
    }
    const price = record.price ? Number(record.price) : NaN;
    const skuKey = sku.toLowerCase();
    batch.delete(skuKey);
    batch.set(skuKey, {
      sku,
      skuKey,
      name,
      description: record.description || null,
      priceCents: Number.isFinite(price) ? Math.round(price * 100) : null,
      active: record.active?.toLowerCase() === 'false' ? 0 : 1,
      now: new Date().toISOString(),
    });
    if (batch.size >= batchSize) {
      await write([...batch.values()]);
      batch = new Map();
    }
  }
  if (batch.size > 0) await write([...batch.values()]);
  return { rows, skipped };
}

const UPSERT_TAIL = `on conflict (sku_key) do update set sku = excluded.sku, name = excluded.name,
  description = excluded.description, price_cents = excluded.price_cents, active = excluded.active, updated_at = excluded.updated_at`;
const COLUMNS = 'insert into products (sku, sku_key, name, description, price_cents, active, created_at, updated_at) values ';

function flatten(rows: NaiveRow[]): unknown[] {
  return rows.flatMap((row) => [row.sku, row.skuKey, row.name, row.description, row.priceCents, row.active, row.now]);
}

export async function naivePostgresImport(url: string, file: string): Promise<NaiveResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = performance.now();
  try {
    const counts = await readBatches(file, POSTGRES_BATCH, async (rows) => {
      const values = rows.map((_, i) => `($${i * 7 + 1}, $${i * 7 + 2}, $${i * 7 + 3}, $${i * 7 + 4}, $${i * 7 + 5}, $${i * 7 + 6}, $${i * 7 + 7}, $${i * 7 + 7})`);
      await client.query(`${COLUMNS}${values.join(', ')} ${UPSERT_TAIL}`, flatten(rows));
    });
    return { ...counts, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}

export async function naiveSqliteImport(databaseFile: string, file: string): Promise<NaiveResult> {
  const connection = new BetterSqlite3(databaseFile);
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = NORMAL');
  const statements = new Map<number, BetterSqlite3.Statement>();
  const statementFor = (count: number) => {
    let statement = statements.get(count);
    if (!statement) {
      statement = connection.prepare(`${COLUMNS}${Array(count).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ${UPSERT_TAIL}`);
      statements.set(count, statement);
    }
    return statement;
  };
  const started = performance.now();
  try {
    const counts = await readBatches(file, SQLITE_BATCH, async (rows) => {
      const parameters = rows.flatMap((row) => [row.sku, row.skuKey, row.name, row.description, row.priceCents, row.active, row.now, row.now]);
      statementFor(rows.length).run(parameters);
    });
    return { ...counts, seconds: (performance.now() - started) / 1000 };
  } finally {
    connection.close();
  }
}
