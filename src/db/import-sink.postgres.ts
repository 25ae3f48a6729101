import { once } from 'node:events';
import type { CompiledQuery } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createPostgresPool, type PostgresConfig } from './connection.postgres.js';
import {
  updatedColumns,
  type BatchCheckpoint,
  type ImportedProduct,
  type ImportSink,
  type RejectedRow,
  type SinkBatch,
  type SinkOptions,
} from './import-sink.js';

// PostgreSQL: batches are COPYed into a temporary staging table as they come, and every
// SinkOptions.mergeRows rows the staged batches are written together by one statement, in one
// transaction with the checkpoint of the last of them: each SKU written once, with its last row,
// in key order. (An upsert per batch wrote a SKU repeated across batches once per batch — 180k
// writes re-importing a 500k file where the floor writes none — and walked the indexes once per
// batch: docs/performance-log.md, "PostgreSQL: where the `merge` seconds go".) The counts come out
// of the same statement, each staged row compared with the row of its SKU before it (staged, or
// the product as the statement found it). Two connections take turns, each with its own staging
// table: one stages the next batches while the other writes.

/** A connection of the sink and the batches staged on it, not written yet. */
interface Lane {
  client: pg.PoolClient;
  staged: StagedBatches;
}

export async function openPostgresSink(config: PostgresConfig, options: SinkOptions): Promise<ImportSink> {
  const pool = createPostgresPool(config, 2);
  const clients: pg.PoolClient[] = [];
  try {
    for (let lane = 0; lane < 2; lane++) {
      const client = await pool.connect();
      clients.push(client);
      await prepareConnection(client);
    }
  } catch (error) {
    for (const client of clients) client.release(true);
    await pool.end();
    throw error;
  }
  return createSink(pool, clients, options);
}

async function prepareConnection(client: pg.PoolClient): Promise<void> {
  // Each write commits in one transaction with its checkpoint, so a database crash can lose
  // only the last few writes together with their checkpoints (never one without its checkpoint,
  // nor a later one without an earlier one: WAL replays in order); the resumed job re-imports
  // them. The job's final state is committed synchronously elsewhere, which flushes the WAL up
  // to it. Saves the WAL flush wait of every write.
  await client.query('set synchronous_commit = off');
  // The write sorts its staged rows by key in memory rather than on disk (a batch's sort on
  // disk: re-import 11.4 s -> 8.9 s with 64MB for ~40k rows; a write holds several batches).
  await client.query(`set work_mem = '128MB'`);
  // Rows stay staged across the COPYs' own transactions; the write empties the table.
  await client.query(`create temp table import_staging (
    ord integer not null, counted boolean not null, sku text not null, sku_key text collate "C" not null,
    name text not null, description text, price_cents bigint, active integer not null)`);
}

function createSink(pool: pg.Pool, clients: pg.PoolClient[], { jobId, columns, clock, mergeRows }: SinkOptions): ImportSink {
  const mergeStatement = mergeSql(updatedColumns(columns));
  const lanes: Lane[] = clients.map((client) => ({ client, staged: new StagedBatches() }));
  let staging = 0;
  let writing: Promise<void> | null = null;
  /** The error of a write that failed: the next call rejects with it. */
  let failure: unknown = null;
  let closed = false;

  const writeLane = async ({ client, staged }: Lane) => {
    const batches = staged.take();
    const now = new Date().toISOString();
    await clock.timeAsync('commit', () => client.query('begin'));
    try {
      let startedAt = clock.now();
      const { rows } = await client.query<WriteTotals>(mergeStatement, [now]);
      clock.add('merge', startedAt);
      startedAt = clock.now();
      const checkpoint = checkpointAfter(batches, rows[0]);
      if (checkpoint) await client.query(checkpoint.sql, checkpoint.parameters as unknown[]);
      await insertErrors(client, jobId, batches.flatMap((batch) => batch.errors));
      await client.query('truncate import_staging');
      clock.add('checkpoint', startedAt);
      await clock.timeAsync('commit', () => client.query('commit'));
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
    for (const batch of batches) batch.checkpoint.committed();
  };

  /** Writes the staging lane's batches (once the write before has committed); the other lane stages meanwhile. */
  const startWrite = async () => {
    const lane = lanes[staging] as Lane;
    if (lane.staged.empty) return;
    if (writing) await writing;
    staging = 1 - staging;
    const started = writeLane(lane);
    started.catch((error: unknown) => {
      failure ??= error;
    });
    writing = started;
  };

  return {
    async write(batch, checkpoint) {
      if (closed) throw new Error('The import sink is closed.');
      if (failure) throw failure;
      const lane = lanes[staging] as Lane;
      const ord = lane.staged.add(batch, checkpoint);
      await clock.timeAsync('stage', () => stageBatch(lane.client, batch, ord));
      if (lane.staged.rows >= mergeRows) await startWrite();
    },
    async flush() {
      await startWrite();
      if (writing) await writing;
    },
    async close() {
      if (closed) return;
      closed = true;
      await writing?.catch(() => undefined);
      for (const client of clients) client.release(true);
      await pool.end();
    },
  };
}

/**
 * The write of one lane's staged batches, returning how many of the batches' firsts (the counted
 * rows) it inserted and updated, over all of them. Each counted row is compared with the row of
 * its SKU before it: the staged one (lag over the SKU's rows in `ord` order), or for the SKU's
 * first staged row the product as this statement found it. Only the SKU's last staged row is
 * written, if it changes the product.
 *
 * The product as found is read only where the write cannot tell it: a SKU staged once (most of
 * them) was inserted when the row written has an id past the largest id this statement's
 * snapshot holds (ids come from the products' identity in increasing order, as SQLite's writer
 * counts too), updated when it was written with an older id, and unchanged when it was not
 * written. Only the first of a SKU's several staged rows looks the product up by key (every
 * part of one statement reads the same snapshot, so it sees the product before `written`
 * changed it). Joining every staged first to products hashed the whole table for each write:
 * at 800k products ~1.5–2.4 s of a 200k-record write's 5–6.6 s (docs/performance-log.md,
 * "PostgreSQL: the import's counts without a hash of the products"). The counts are totals, not
 * per batch: per batch they needed every staged row joined with the rows written, two sorts of
 * the whole write (~1 s per 500k records: docs/performance-log.md, "PostgreSQL: a write's counts
 * as totals").
 */
function mergeSql(changed: string[]): string {
  const list = (prefix: string) => changed.map((column) => `${prefix}${column}`).join(', ');
  return `with ranked as materialized (
      select s.*, row_number() over w = 1 as first_of_key, lead(s.ord) over w is null as last_of_key,
        lag(row(${list('s.')})) over w as previous
      from import_staging s
      window w as (partition by s.sku_key order by s.ord)),
    -- The largest id before this statement: every product it inserts gets a larger one.
    existing as materialized (select coalesce(max(id), 0) as last_id from products),
    written as (
      -- ranked comes out of its window sorted by sku_key, so the insert walks the unique index
      -- (and, for new rows, the table) in order rather than hopping.
      insert into products (sku, sku_key, name, description, price_cents, active, created_at, updated_at)
      select sku, sku_key, name, description, price_cents, active, $1::timestamptz, $1::timestamptz
        from ranked where last_of_key
      on conflict (sku_key) do update set ${changed.map((column) => `${column} = excluded.${column}`).join(', ')},
        updated_at = excluded.updated_at
      where (${list('products.')}) is distinct from (${list('excluded.')})
      returning id, sku_key),
    -- For the background search indexer (src/db/search-index.postgres.ts). An indexer that has
    -- claimed one of these ids holds its queue row deleted and uncommitted: the unique check waits
    -- for it, then inserts the id again (or finds it still queued if the indexer rolled back). DO
    -- NOTHING rather than a no-op DO UPDATE, which locked and rewrote each id already queued (written by
    -- an earlier write of the job, or by an import the indexer has not caught up with;
    -- docs/performance-log.md, "PostgreSQL: the search queue's conflicts").
    queued as (
      insert into product_search_queue (product_id) select id from written
      on conflict (product_id) do nothing),
    -- The first row of each SKU staged more than once, against the product as this statement found
    -- it: looked up per row (offset 0: planned as a join, it hashed products).
    repeated as materialized (
      select r.sku_key, p.id is not null and (${list('p.')}) is distinct from (${list('r.')}) as updated
      from ranked r left join lateral (select * from products p where p.sku_key = r.sku_key offset 0) p on true
      where r.first_of_key and not r.last_of_key)
    select
      -- A new SKU's first row (a SKU is inserted once, with its last row).
      (select count(*) from written w, existing e where w.id > e.last_id) as inserted,
      -- A SKU staged once, written over an older product.
      (select count(*) from written w, existing e
        where w.id <= e.last_id and not exists (select from repeated m where m.sku_key = w.sku_key))
      -- The first of several rows of a SKU, against the product found.
      + (select count(*) from repeated where updated)
      -- Every later row of a SKU, against the row before it.
      + (select count(*) from ranked r where r.counted and not r.first_of_key and r.previous is distinct from row(${list('r.')}))
      as updated`;
}

async function stageBatch(client: pg.PoolClient, batch: SinkBatch, ord: number): Promise<void> {
  const stream = client.query(
    copyFrom('copy import_staging (ord, counted, sku, sku_key, name, description, price_cents, active) from stdin'),
  );
  const done = once(stream, 'finish');
  const chunkRows = 2000;
  const parts: [readonly ImportedProduct[], string][] = [
    [batch.firsts, `${ord}\tt`],
    [batch.lasts, `${ord + 1}\tf`],
  ];
  for (const [rows, prefix] of parts) {
    for (let start = 0; start < rows.length; start += chunkRows) {
      let text = '';
      for (const row of rows.slice(start, start + chunkRows)) text += copyLine(prefix, row);
      if (!stream.write(text)) await once(stream, 'drain');
    }
  }
  stream.end();
  await done;
}

async function insertErrors(client: pg.PoolClient, jobId: string, errors: RejectedRow[]): Promise<void> {
  if (errors.length === 0) return;
  await client.query(
    `insert into job_errors (job_id, line, sku, field, message, raw)
     select $1, * from unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])`,
    [jobId, ...(['line', 'sku', 'field', 'message', 'raw'] as const).map((key) => errors.map((error) => error[key]))],
  );
}

/** One row in COPY's text format: tab-separated, \N for null, backslash escapes. */
function copyLine(prefix: string, row: ImportedProduct): string {
  return `${prefix}\t${copyText(row.sku)}\t${copyText(row.key)}\t${copyText(row.name)}\t${
    row.description === null ? '\\N' : copyText(row.description)
  }\t${row.priceCents === null ? '\\N' : row.priceCents}\t${row.active}\n`;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function copyText(value: string): string {
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (char) => COPY_ESCAPES[char] as string) : value;
}

/** A batch staged and not written yet: what its write needs besides its rows. */
interface StagedBatch {
  firsts: number;
  errors: RejectedRow[];
  checkpoint: BatchCheckpoint;
}

/** The batches a sink has staged since its last write. */
class StagedBatches {
  private batches: StagedBatch[] = [];
  private nextOrd = 0;
  /** Records of the file the staged batches cover. */
  rows = 0;

  /**
   * Records a batch about to be staged; returns staging's `ord` of its firsts (its lasts are
   * ord + 1): the file order of a SKU's staged rows.
   */
  add(batch: SinkBatch, checkpoint: BatchCheckpoint): number {
    const ord = this.nextOrd;
    this.nextOrd += 2;
    this.batches.push({ firsts: batch.firsts.length, errors: batch.errors, checkpoint });
    this.rows += batch.rows;
    return ord;
  }

  get empty(): boolean {
    return this.batches.length === 0;
  }

  /** The staged batches, for their write; starts over. */
  take(): StagedBatch[] {
    const batches = this.batches;
    this.batches = [];
    this.rows = 0;
    return batches;
  }
}

/** What a write of staged batches counted, over all of them. */
interface WriteTotals {
  inserted: number | string;
  updated: number | string;
}

/**
 * The checkpoint after a write of `batches`: each batch's statement called in order (the job's
 * state adds up batch by batch), the last one returned to be run. The write's counts come with
 * its last batch: the job's state is saved once per write, so only their sum is ever seen.
 */
function checkpointAfter(batches: readonly StagedBatch[], totals: WriteTotals | undefined): CompiledQuery | null {
  const inserted = Number(totals?.inserted ?? 0);
  const updated = Number(totals?.updated ?? 0);
  const firsts = batches.reduce((sum, batch) => sum + batch.firsts, 0);
  const writeCounts = { inserted, updated, unchanged: firsts - inserted - updated };
  const none = { inserted: 0, updated: 0, unchanged: 0 };
  let statement: CompiledQuery | null = null;
  for (const [index, batch] of batches.entries()) {
    statement = batch.checkpoint.statement(index === batches.length - 1 ? writeCounts : none);
  }
  return statement;
}
