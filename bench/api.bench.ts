// npm run bench:api — latency of GET /api/products on a 1,000,000-product catalog, on SQLite
// and on PostgreSQL, through the real app listening on a real port.
//
// Seeding is not what is measured, so it takes the fast paths: SQLite is filled once by
// prepared inserts in big transactions and cached under bench/.cache/ (keyed by the
// migrations and the generator, copied to a fresh file per run); PostgreSQL gets a fresh
// schema of its own, filled by COPY with the secondary indexes built afterwards, then
// VACUUM ANALYZE (what autovacuum would have done), and dropped at the end.
//
// Options (environment): BENCH_ROWS (default 1000000), BENCH_CASES (regular expression on case names), BENCH_REQUESTS per case (200),
// BENCH_CASE_SECONDS, the most time spent measuring one case (20), BENCH_DIALECTS
// ("sqlite,postgres"), TEST_DATABASE_URL (postgres://root@127.0.0.1:5432/test), BENCH_KEEP_POSTGRES=1
// (keep the seeded schema, named after the cache key, and reuse it in later runs; drop it by hand:
// `drop schema bench_api_cache_<key> cascade`).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { request } from 'undici';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { skuKey } from '../src/products/products.rules.js';
import { openRuntime } from '../src/runtime.js';
import { INDEXED_TEXT_SQL } from '../src/db/search-index.postgres.js';
import { rebuildSearchIndex } from '../src/search/search.reindex.js';
import { COMMON_WORD, RARE_WORD, generateCatalog } from './catalog-generator.js';

type Dialect = 'sqlite' | 'postgres';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const CASE_SECONDS = Number(process.env.BENCH_CASE_SECONDS ?? 20);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const KEEP_POSTGRES = process.env.BENCH_KEEP_POSTGRES === '1';
const TARGET_P95_MS = 50;
/** Terms of 1–2 characters have no trigram: a slower path, with its own target. */
const SHORT_TERM_TARGET_MS = 500;
const loadAverage = () => os.loadavg().map((load) => load.toFixed(2)).join(' ');
const loadAtStart = loadAverage();

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const cacheDir = path.join(benchDir, '.cache');

/** BENCH_CASES: a regular expression choosing cases by name (default all). */
const CASE_FILTER = new RegExp(process.env.BENCH_CASES ?? '');

const ALL_CASES: { name: string; query: string }[] = [
  { name: 'first page', query: '' },
  { name: 'deep page (5,000)', query: 'page=5000' },
  { name: `q common ("${COMMON_WORD}")`, query: `q=${COMMON_WORD}` },
  { name: `q rare ("${RARE_WORD}")`, query: `q=${RARE_WORD}` },
  { name: 'q SKU fragment ("4242")', query: 'q=4242' },
  { name: 'q 3 characters ("qua")', query: 'q=qua' },
  { name: 'q matching 300k+ ("the")', query: 'q=the' },
  { name: 'q 2 characters, common ("ow")', query: 'q=ow' },
  { name: 'q 2 characters, no match ("zq")', query: 'q=zq' },
  { name: 'q 2 characters, rare ("kk", only in the rare word)', query: 'q=kk' },
  { name: 'q 1 character ("x")', query: 'q=x' },
  { name: 'q 1 character, in most rows ("e")', query: 'q=e' },
  { name: `q + active + sort price desc`, query: `q=${COMMON_WORD}&active=true&sort=price&order=desc` },
  { name: `q + inactive`, query: `q=${COMMON_WORD}&active=false` },
  { name: `q rare + sort name`, query: `q=${RARE_WORD}&sort=name` },
  { name: `name filter ("${COMMON_WORD}")`, query: `name=${COMMON_WORD}` },
  { name: 'name filter, 2 characters ("wi")', query: 'name=wi' },
  { name: `description filter ("${COMMON_WORD}")`, query: `description=${COMMON_WORD}` },
  { name: 'sku prefix ("lay-")', query: 'sku=lay-' },
  { name: 'active=false', query: 'active=false' },
  { name: 'active=true, deep (5,000)', query: 'active=true&page=5000' },
  { name: 'sort name', query: 'sort=name' },
  { name: 'sort name, deep (5,000)', query: 'sort=name&page=5000' },
  { name: 'sort name desc', query: 'sort=name&order=desc' },
  { name: 'sort price asc', query: 'sort=price' },
  { name: 'sort price desc', query: 'sort=price&order=desc' },
  { name: 'sort updated_at desc', query: 'sort=updated_at&order=desc' },
];

const CASES = ALL_CASES.filter(({ name }) => CASE_FILTER.test(name));

/** Deterministic timestamps: creation a few seconds apart, updates spread over a year after. */
function timestampsOf(index: number): { createdAt: string; updatedAt: string } {
  const created = Date.UTC(2025, 0, 1) + index * 7_000;
  const updated = created + ((index * 2_654_435_761) % 31_536_000) * 1_000;
  return { createdAt: new Date(created).toISOString(), updatedAt: new Date(updated).toISOString() };
}

/** The stored row of catalog row `index`, as the app would write it. */
function* productRows(): Generator<[string, string, string, string, number | null, number, string, string]> {
  let index = 0;
  for (const row of generateCatalog(ROWS)) {
    const { createdAt, updatedAt } = timestampsOf(index);
    yield [row.sku, skuKey(row.sku), row.name, row.description, row.priceCents, row.active ? 1 : 0, createdAt, updatedAt];
    index += 1;
  }
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function timed<T>(label: string, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  const result = await work();
  log(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/** Changes to the schema or the data make a new cache entry. */
function cacheKey(): string {
  const hash = createHash('sha256').update(String(ROWS));
  const migrationsDir = path.join(benchDir, '../src/db/migrations');
  for (const file of fs.readdirSync(migrationsDir).sort()) hash.update(fs.readFileSync(path.join(migrationsDir, file)));
  hash.update(fs.readFileSync(path.join(benchDir, 'catalog-generator.ts')));
  hash.update(timestampsOf.toString());
  return hash.digest('hex').slice(0, 16);
}

interface Store {
  env: Record<string, string>;
  /** The PostgreSQL schema holding the catalog. */
  schema?: string;
  drop(): Promise<void>;
}

/** A fresh SQLite file holding the seeded catalog (a copy of the cached one). */
async function prepareSqlite(): Promise<Store> {
  fs.mkdirSync(cacheDir, { recursive: true });
  const cached = path.join(cacheDir, `catalog-${cacheKey()}.db`);
  if (!fs.existsSync(cached)) {
    const building = `${cached}.building-${process.pid}`;
    await timed(`SQLite: seeding ${ROWS} products (cached for next runs)`, async () => {
      const database = createDatabase({ dialect: 'sqlite', file: building });
      await migrateToLatest(database.db);
      await database.close();
      const connection = new BetterSqlite3(building);
      connection.pragma('journal_mode = WAL');
      connection.pragma('synchronous = OFF');
      connection.pragma('cache_size = -262144');
      const insert = connection.prepare(`insert into products
        (sku, sku_key, name, description, price_cents, active, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)`);
      const insertAll = connection.transaction((rows: unknown[][]) => {
        for (const row of rows) insert.run(row);
      });
      let batch: unknown[][] = [];
      for (const row of productRows()) {
        batch.push(row);
        if (batch.length === 50_000) {
          insertAll(batch);
          batch = [];
        }
      }
      insertAll(batch);
      connection.pragma('wal_checkpoint(TRUNCATE)');
      connection.close();
    });
    await timed('SQLite: building the search index (cached too)', async () => {
      const database = createDatabase({ dialect: 'sqlite', file: building });
      await rebuildSearchIndex(database);
      await database.close();
    });
    fs.renameSync(building, cached);
  }
  const file = path.join(cacheDir, `run-${process.pid}.db`);
  fs.copyFileSync(cached, file);
  return {
    env: { DATABASE_URL: `sqlite:${file}` },
    async drop() {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
    },
  };
}

/** A fresh PostgreSQL schema holding the seeded catalog; drop() removes it and nothing else. */
async function preparePostgres(): Promise<Store> {
  const schema = KEEP_POSTGRES ? `bench_api_cache_${cacheKey()}` : `bench_api_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  if (KEEP_POSTGRES) {
    const { rowCount } = await admin.query('select 1 from pg_namespace where nspname = $1', [schema]);
    if (rowCount) {
      log(`PostgreSQL: reusing schema ${schema}`);
      return { env: { DATABASE_URL: POSTGRES_URL }, schema, drop: () => admin.end() };
    }
  }
  await admin.query(`create schema ${schema}`);
  const drop = async () => {
    if (!KEEP_POSTGRES) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  };
  try {
    const database = createDatabase({ dialect: 'postgres', url: POSTGRES_URL, schema });
    await migrateToLatest(database.db);
    await database.close();
    await admin.query(`set search_path = ${schema}`);
    await timed(`PostgreSQL: seeding ${ROWS} products by COPY`, async () => {
      // Secondary indexes are built once after the load rather than row by row during it.
      const { rows: indexes } = await admin.query<{ name: string; definition: string }>(
        `select indexname as name, indexdef as definition from pg_indexes
          where schemaname = $1 and tablename in ('products', 'product_search', 'product_search_name')
            and indexname not in (select conname from pg_constraint)`,
        [schema],
      );
      for (const index of indexes) await admin.query(`drop index ${index.name}`);
      const copy = admin.query(
        copyFrom(`copy products (sku, sku_key, name, description, price_cents, active, created_at, updated_at)
          from stdin with (format csv)`),
      );
      const csvCell = (value: unknown) => (value === null ? '' : `"${String(value).replace(/"/g, '""')}"`);
      await pipeline(
        Readable.from(
          (function* () {
            let chunk = '';
            for (const row of productRows()) {
              chunk += `${row.map(csvCell).join(',')}\n`;
              if (chunk.length > 1 << 20) {
                yield chunk;
                chunk = '';
              }
            }
            yield chunk;
          })(),
        ),
        copy,
      );
      // The search index as the indexer would leave it (the same lower-cased texts).
      await admin.query(`insert into product_search (product_id, text, active) select p.id, ${INDEXED_TEXT_SQL}, p.active from products p`);
      await admin.query('insert into product_search_name (product_id, name) select id, lower(name) from products');
      await admin.query(`set maintenance_work_mem = '256MB'`);
      for (const index of indexes) await admin.query(index.definition);
      await admin.query('vacuum analyze products');
      await admin.query('vacuum analyze product_search');
      await admin.query('vacuum analyze product_search_name');
      await admin.query('vacuum analyze product_search_queue');
    });
  } catch (error) {
    // A half-seeded schema is never kept.
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
    throw error;
  }
  return { env: { DATABASE_URL: POSTGRES_URL }, schema, drop };
}

interface CaseResult {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  /** "10000+" when a text search stopped counting. */
  total: number | string;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function measure(baseUrl: string, query: string): Promise<CaseResult> {
  const get = async () => {
    const start = performance.now();
    const response = await request(`${baseUrl}/api/products?${query}`);
    const body = (await response.body.json()) as { total: number; total_exact: boolean };
    const elapsed = performance.now() - start;
    if (response.statusCode !== 200) throw new Error(`${query}: HTTP ${response.statusCode} ${JSON.stringify(body)}`);
    return { elapsed, total: body.total_exact ? body.total : `${body.total}+` };
  };
  const warmUpUntil = performance.now() + 3_000;
  let total: number | string = 0;
  for (let i = 0; i < 10 && performance.now() < warmUpUntil; i += 1) total = (await get()).total;
  const samples: number[] = [];
  const stopAt = performance.now() + CASE_SECONDS * 1_000;
  while (samples.length < REQUESTS && (samples.length < 5 || performance.now() < stopAt)) {
    samples.push((await get()).elapsed);
  }
  samples.sort((a, b) => a - b);
  return { n: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99), total };
}

async function benchDialect(dialect: Dialect): Promise<Map<string, CaseResult>> {
  const store = dialect === 'sqlite' ? await prepareSqlite() : await preparePostgres();
  const dataDir = fs.mkdtempSync(path.join(cacheDir, 'data-'));
  try {
    const config: Config = loadConfig({ ...store.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    if (config.database.dialect === 'postgres') config.database.schema = store.schema;
    const runtime = await openRuntime(config, () => undefined, { runJobs: false, runWebhookDispatcher: false });
    const app = await buildApp(runtime);
    const results = new Map<string, CaseResult>();
    try {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      for (const { name, query } of CASES) {
        const result = await measure(address, query);
        log(`${dialect} ${name}: p50 ${result.p50.toFixed(1)} p95 ${result.p95.toFixed(1)} ms (n=${result.n}, total=${result.total})`);
        results.set(name, result);
      }
    } finally {
      await app.close();
      await runtime.close();
    }
    return results;
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
    await store.drop();
  }
}

function printTable(results: Map<Dialect, Map<string, CaseResult>>): void {
  const ms = (value: number) => value.toFixed(1);
  const header = ['GET /api/products', 'matches'];
  for (const dialect of results.keys()) header.push(`${dialect} p50`, 'p95', 'p99', 'n');
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const { name, query } of CASES) {
    const cells = [`${name} \`?${query}\``];
    const totals = new Set([...results.values()].map((byCase) => byCase.get(name)?.total));
    // Both databases must find the same rows: a difference is a bug, shown in the table.
    cells.push([...totals].join(' ≠ '));
    for (const byCase of results.values()) {
      const result = byCase.get(name);
      if (!result) continue;
      const target = /q [12] character/.test(name) ? SHORT_TERM_TARGET_MS : TARGET_P95_MS;
      const p95 = `${ms(result.p95)}${result.p95 > target ? ' ✗' : ''}`;
      cells.push(ms(result.p50), p95, ms(result.p99), String(result.n));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  console.log(
    `\n${ROWS.toLocaleString('en-US')} products; latency in ms; ✗ = p95 above the ${TARGET_P95_MS} ms target (${SHORT_TERM_TARGET_MS} ms for 1–2 character terms); ` +
      `${os.cpus().length} CPUs, load average at start ${loadAtStart}, at end ${loadAverage()}\n`,
  );
  console.log(lines.join('\n'));
}

const results = new Map<Dialect, Map<string, CaseResult>>();
for (const dialect of DIALECTS) results.set(dialect, await benchDialect(dialect));
printTable(results);
