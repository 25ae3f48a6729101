// npm run bench:import — the import pipeline end to end through the real server, on SQLite
// and PostgreSQL, beside each database's own floor measured in the same run on the same file.
//
//   BENCH_ROWS=500000,1000000  file sizes (each has its floor; the first is also re-imported, with its
//     re-import floor, and has the naive reference)
//   BENCH_DIALECTS=sqlite,postgres
//   BENCH_POSTGRES_URL=postgres://root@127.0.0.1:5432/test (a database is created and dropped)
//   BENCH_MODES=embedded,scaled  embedded: the runs above; scaled: embedded PostgreSQL beside an API node
//     with 1 and 2 workers, on the first file alone and with a second file at once (import.scaled.ts)
//   BENCH_REDIS_URL=redis://127.0.0.1:6379 (scaled: keys under a prefix of the run's own)
//   BENCH_SEARCH_EVERY_MS=200  a search (q=velquo) this often during each import; 0: none, so the import
//     is measured against its floor without that load (a search checks every row the indexer has not reached)
//   BENCH_WRITE_EVERY_MS=500  a PATCH of one product this often during each import (an API write waits
//     for the import's transaction on SQLite); 0: none
//   BENCH_CPU_PROF=/some/dir  the servers run with --cpu-prof (a .cpuprofile per thread, job threads included)
//
// Each run's phase breakdown comes from the server's `job phases (ms)` log line (it runs at LOG_LEVEL=info;
// lines below warn are dropped).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { request } from 'undici';
import { DEFAULT_IMPORT_MEMORY_MB, importMemoryShares } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { databaseUrl, withPostgres } from './bench-postgres.js';
import { generateCatalog, type CatalogFile } from './import.data.js';
import { naivePostgresImport, naiveSqliteImport } from './import.naive.js';
import { runScaledImports } from './import.scaled.js';
import { freePort } from '../test/support/ports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(root, 'bench', '.cache');
const rowCounts = (process.env.BENCH_ROWS ?? '500000,1000000').split(',').map(Number);
const dialects = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',');
const postgresUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const modes = (process.env.BENCH_MODES ?? 'embedded').split(',');
/** The page cache our import connection uses (src/db/import-sink.sqlite.ts), given to the sqlite3 CLI floor too. */
const SQLITE_CACHE_KIB = importMemoryShares(DEFAULT_IMPORT_MEMORY_MB).pageCacheKib;

interface ImportRun {
  label: string;
  dialect: string;
  /** Which floor it compares with: the first import of the reference file, or its re-import (null: another file). */
  kind: 'empty' | 're-import' | null;
  rows: number;
  seconds: number;
  status: string;
  peakRssMb: number;
  p50: number;
  p99: number;
  apiRequests: number;
  /** A search (q) every 200 ms during the import. */
  searchP50: number;
  searchP99: number;
  searches: number;
  /** A PATCH of one product every BENCH_WRITE_EVERY_MS during the import: median and slowest. */
  writeP50: number;
  writeMax: number;
  writes: number;
  /** Seconds from the job's completion until a search (q=its SKU) found the file's last row. */
  findableSeconds: number;
  /** Seconds from the job's completion until no row waited for the search indexer (null: indexer off). */
  indexCaughtUpSeconds: number | null;
  counts: string;
  /** The job's phase breakdown as the server logged it (ms per phase), or null. */
  phases: Record<string, number> | null;
}

/** A reference measured in the same run on a file of `rows` rows: `kind` says which import it compares with. */
interface Floor {
  dialect: string;
  rows: number;
  kind: 'empty' | 're-import' | 'naive' | 'other';
  label: string;
  seconds: number;
}

/** The term the search prober asks for: two syllables of the generated vocabulary. */
const SEARCH_TERM = 'velquo';
const searchEveryMs = Number(process.env.BENCH_SEARCH_EVERY_MS ?? 200);
const writeEveryMs = Number(process.env.BENCH_WRITE_EVERY_MS ?? 500);

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

interface Server {
  child: ChildProcess;
  base: string;
  /** The phase breakdown the server logs when job `jobId` ends (null if it did not within 10 s). */
  phasesOf(jobId: string): Promise<Record<string, number> | null>;
  stop(): Promise<void>;
}

/** The order of the phase table's columns: the pipeline's, then the sink's (src/imports/imports.pipeline.ts, src/db/import-sink.*.ts). */
const PHASES = ['total', 'start', 'read', 'parse', 'validate', 'cancel check', 'wait for sink', 'stage', 'merge', 'checkpoint', 'commit'];

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  // As `npm start` runs it (compiled by main(), plain node, its flags), so RSS is what users get.
  // At info, for the job's phase log line; other lines below warn (the requests) are dropped.
  const child = spawn(process.execPath, ['--max-semi-space-size=2', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []), 'dist/server.js'], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const phases = new Map<string, Record<string, number>>();
  let pending = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    pending += text;
    let end: number;
    while ((end = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      let entry: { level?: number; msg?: string; jobId?: string; phases?: Record<string, number> };
      try {
        entry = JSON.parse(line);
      } catch {
        process.stdout.write(`${line}\n`);
        continue;
      }
      if (entry.msg === 'job phases (ms)' && entry.jobId && entry.phases) phases.set(entry.jobId, entry.phases);
      else if ((entry.level ?? 0) >= 40) process.stdout.write(`${line}\n`);
    }
  });
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await request(`${base}/readyz`);
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300) throw new Error('server did not become ready');
    await sleep(100);
  }
  return {
    child,
    base,
    async phasesOf(jobId) {
      for (let waited = 0; !phases.has(jobId) && waited < 10_000; waited += 20) await sleep(20);
      return phases.get(jobId) ?? null;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] as number;
}

type ProbeRequest = { method: 'GET' } | { method: 'PATCH'; headers: Record<string, string>; body: string };

/** Latencies of `path` requested every `intervalMs` while `running()` (GET unless `options` says otherwise). */
async function probe(
  base: string,
  path: string,
  intervalMs: number,
  running: () => boolean,
  options: () => ProbeRequest = () => ({ method: 'GET' }),
): Promise<number[]> {
  const latencies: number[] = [];
  while (running()) {
    const t0 = performance.now();
    const response = await request(`${base}${path}`, options());
    await response.body.dump();
    if (response.statusCode >= 300) throw new Error(`${path} answered ${response.statusCode}`);
    latencies.push(performance.now() - t0);
    await sleep(intervalMs);
  }
  return latencies.sort((a, b) => a - b);
}

/** Latencies of a PATCH of one product (created for it, outside the file's SKUs) every `intervalMs` while `running()`. */
async function probeWrites(base: string, intervalMs: number, running: () => boolean): Promise<number[]> {
  const created = await request(`${base}/api/products`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sku: `bench-write-probe-${randomBytes(4).toString('hex')}`, name: 'Write probe', price: '1.00' }),
  });
  const { id } = (await created.body.json()) as { id?: number };
  if (created.statusCode !== 201 || id === undefined) throw new Error(`creating the write probe's product answered ${created.statusCode}`);
  let cents = 100;
  const patch = (): ProbeRequest => ({
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ price: ((cents++ % 10_000) / 100).toFixed(2) }),
  });
  return probe(base, `/api/products/${id}`, intervalMs, running, patch);
}

/**
 * Seconds from `since` until `q=<sku>` lists the product with that SKU: the freshness a person
 * sees (rows the search indexer has not reached yet are still found, checked one by one).
 */
async function secondsUntilFound(base: string, sku: string, since: number): Promise<number> {
  const deadline = since + 120_000;
  for (;;) {
    const response = await request(`${base}/api/products?q=${encodeURIComponent(sku)}`);
    const page = (await response.body.json()) as { items?: { sku: string }[] };
    if (page.items?.some((product) => product.sku.toLowerCase() === sku.toLowerCase())) return (performance.now() - since) / 1000;
    if (performance.now() > deadline) throw new Error(`q=${sku} did not find the file's last row within 120 s of completion`);
    await sleep(100);
  }
}

/**
 * Uploads `file`, follows its SSE stream to the terminal event, sampling RSS, list latency and
 * search latency meanwhile; then, when `unindexed` is given, times the search indexer's catch-up.
 */
async function importThroughServer(
  server: Server,
  file: CatalogFile,
  run: Pick<ImportRun, 'label' | 'dialect' | 'kind'>,
  unindexed: (() => Promise<number>) | null,
): Promise<ImportRun> {
  const upload = await request(`${server.base}/api/upload?filename=${encodeURIComponent(path.basename(file.file))}`, {
    method: 'POST',
    headers: { 'content-type': 'text/csv' },
    body: fs.createReadStream(file.file),
  });
  const accepted = (await upload.body.json()) as { job_id?: string; detail?: unknown };
  if (upload.statusCode !== 202 || !accepted.job_id) throw new Error(`upload answered ${upload.statusCode}: ${JSON.stringify(accepted)}`);
  const started = performance.now();
  const pid = server.child.pid as number;

  let running = true;
  let peakRss = rssKb(pid, 'VmRSS');
  const sampler = (async () => {
    while (running) {
      peakRss = Math.max(peakRss, rssKb(pid, 'VmRSS'));
      await sleep(50);
    }
  })();
  const listProber = probe(server.base, '/api/products?page_size=20&sort=name', 50, () => running);
  const searchProber = searchEveryMs > 0 ? probe(server.base, `/api/products?q=${SEARCH_TERM}`, searchEveryMs, () => running) : Promise.resolve([]);
  const writeProber = writeEveryMs > 0 ? probeWrites(server.base, writeEveryMs, () => running) : Promise.resolve([]);

  const progress = await request(`${server.base}/api/progress/${accepted.job_id}`, { headers: { accept: 'text/event-stream' } });
  let buffer = '';
  let terminal: { event: string; data: Record<string, unknown> } | null = null;
  for await (const chunk of progress.body) {
    buffer += chunk.toString();
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(message)?.[1];
      const data = /^data: (.*)$/m.exec(message)?.[1];
      if (event && ['completed', 'failed', 'cancelled'].includes(event) && data) terminal = { event, data: JSON.parse(data) };
    }
    if (terminal) break;
  }
  const seconds = (performance.now() - started) / 1000;
  const completed = performance.now();
  running = false;
  const [, sorted, searches, writes] = await Promise.all([sampler, listProber, searchProber, writeProber]);
  progress.body.destroy();
  if (terminal?.event !== 'completed') throw new Error(`the import ended ${terminal?.event ?? 'without a terminal event'}: ${JSON.stringify(terminal?.data)}`);
  const findableSeconds = await secondsUntilFound(server.base, file.lastSku, completed);
  let indexCaughtUpSeconds: number | null = null;
  if (unindexed) {
    while ((await unindexed()) > 0) await sleep(100);
    indexCaughtUpSeconds = (performance.now() - completed) / 1000;
  }
  const data = terminal.data;
  return {
    ...run,
    rows: file.rows,
    seconds,
    status: terminal.event,
    peakRssMb: Math.round(peakRss / 1024),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    apiRequests: sorted.length,
    searchP50: percentile(searches, 0.5),
    searchP99: percentile(searches, 0.99),
    searches: searches.length,
    writeP50: percentile(writes, 0.5),
    writeMax: writes.at(-1) ?? NaN,
    writes: writes.length,
    findableSeconds,
    indexCaughtUpSeconds,
    counts: `ins ${data.inserted} upd ${data.updated} unch ${data.unchanged} inv ${data.invalid}${data.error ? ` error: ${data.error}` : ''}`,
    phases: await server.phasesOf(accepted.job_id),
  };
}

function timed(command: string, args: string[], script?: string): number {
  // Dot and backslash commands must start their line.
  const input = script?.split('\n').map((line) => line.trim()).join('\n');
  const started = performance.now();
  const result = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** The SQL every floor runs: staging -> one upsert, deduplicated by key with the last row winning. */
function postgresFloorSql(file: string): string {
  return `
    create temp table staging (n bigserial, name text, sku text, description text, price text, active text);
    \\copy staging (name, sku, description, price, active) from '${file}' with (format csv, header true)
    insert into products (sku, sku_key, name, description, price_cents, active, created_at, updated_at)
    select distinct on (lower(trim(sku))) trim(sku), lower(trim(sku)), name, nullif(description, ''),
      (nullif(price, '')::numeric * 100)::bigint, case lower(active) when 'false' then 0 else 1 end, now(), now()
    from staging order by lower(trim(sku)), n desc
    on conflict (sku_key) do update set sku = excluded.sku, name = excluded.name, description = excluded.description,
      price_cents = excluded.price_cents, active = excluded.active, updated_at = excluded.updated_at
    where (products.sku, products.name, products.description, products.price_cents, products.active)
      is distinct from (excluded.sku, excluded.name, excluded.description, excluded.price_cents, excluded.active);`;
}

function sqliteFloorSql(file: string): string {
  return `
    pragma journal_mode = wal; pragma synchronous = normal; pragma cache_size = -${SQLITE_CACHE_KIB}; pragma temp_store = memory;
    create temp table staging (name text, sku text, description text, price text, active text);
    .import --csv --skip 1 '${file}' staging
    insert into products (sku, sku_key, name, description, price_cents, active, created_at, updated_at)
    select trim(sku), lower(trim(sku)), name, nullif(description, ''), cast(round(cast(nullif(price, '') as real) * 100) as integer),
      case lower(active) when 'false' then 0 else 1 end, strftime('%Y-%m-%dT%H:%M:%fZ'), strftime('%Y-%m-%dT%H:%M:%fZ')
    from staging where true
    on conflict (sku_key) do update set sku = excluded.sku, name = excluded.name, description = excluded.description,
      price_cents = excluded.price_cents, active = excluded.active, updated_at = excluded.updated_at
    where products.sku is not excluded.sku or products.name is not excluded.name or products.description is not excluded.description
      or products.price_cents is not excluded.price_cents or products.active is not excluded.active;`;
}

/** The naive reference (import.naive.ts) on an empty database of its own with our schema. */
async function measureNaive(dialect: string, file: CatalogFile): Promise<Floor> {
  const label = 'naive: csv-parser + multi-row INSERT … ON CONFLICT per batch (empty)';
  if (dialect === 'postgres') {
    const name = `pi_bench_${randomBytes(4).toString('hex')}`;
    await withPostgres(postgresUrl, (client) => client.query(`create database ${name}`));
    try {
      const url = databaseUrl(postgresUrl, name);
      const schema = createDatabase({ dialect: 'postgres', url });
      await migrateToLatest(schema.db).finally(() => schema.close());
      return { dialect, rows: file.rows, kind: 'naive', label, seconds: (await naivePostgresImport(url, file.file)).seconds };
    } finally {
      await withPostgres(postgresUrl, (client) => client.query(`drop database if exists ${name}`));
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-bench-naive-'));
  try {
    const databaseFile = path.join(dir, 'products.db');
    const schema = createDatabase({ dialect: 'sqlite', file: databaseFile });
    await migrateToLatest(schema.db).finally(() => schema.close());
    return { dialect, rows: file.rows, kind: 'naive', label, seconds: (await naiveSqliteImport(databaseFile, file.file)).seconds };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `run`'s time over its floor's, and the naive reference's time over `run`'s (both of the same run and dialect). */
function comparisons(run: ImportRun, floors: Floor[]): { floorRatio: string; timesNaive: string } {
  const find = (kind: Floor['kind']) => floors.find((floor) => floor.dialect === run.dialect && floor.rows === run.rows && floor.kind === kind);
  const floor = run.kind ? find(run.kind) : undefined;
  const naive = run.kind === 'empty' ? find('naive') : undefined;
  return {
    floorRatio: floor ? `${(run.seconds / floor.seconds).toFixed(2)}×` : '–',
    timesNaive: naive ? `${(naive.seconds / run.seconds).toFixed(2)}×` : '–',
  };
}

async function main(): Promise<void> {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const files: CatalogFile[] = [];
  for (const rows of rowCounts) files.push(await generateCatalog(path.join(cacheDir, `catalog-${rows}.csv`), rows));
  const reference = files[0] as CatalogFile;
  if (modes.includes('scaled')) {
    const second = await generateCatalog(path.join(cacheDir, `catalog-${reference.rows}-seed43.csv`), reference.rows, 43);
    await runScaledImports({ root, postgresUrl, redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', files: [reference, second] });
  }
  if (!modes.includes('embedded')) return;
  const runs: ImportRun[] = [];
  const floors: Floor[] = [];
  const notes: string[] = [`${os.cpus().length} CPUs, load average at start ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`];

  for (const dialect of dialects) {
    for (const file of files) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-bench-'));
      const database = `pi_bench_${randomBytes(4).toString('hex')}`;
      const env: Record<string, string> = { DATA_DIR: dataDir };
      if (dialect === 'postgres') {
        await withPostgres(postgresUrl, (client) => client.query(`create database ${database}`));
        env.DATABASE_URL = databaseUrl(postgresUrl, database);
      }
      if (file === reference) {
        // The same import on an empty database without the search indexer, for comparison.
        const bareDir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-bench-'));
        const bareDatabase = `pi_bench_${randomBytes(4).toString('hex')}`;
        const bareEnv: Record<string, string> = { DATA_DIR: bareDir, SEARCH_INDEXER: 'false' };
        if (dialect === 'postgres') {
          await withPostgres(postgresUrl, (client) => client.query(`create database ${bareDatabase}`));
          bareEnv.DATABASE_URL = databaseUrl(postgresUrl, bareDatabase);
        }
        const bare = await startServer(bareEnv);
        try {
          runs.push(await importThroughServer(bare, file, { label: `${dialect} import ${file.rows}, search indexer off`, dialect, kind: 'empty' }, null));
        } finally {
          await bare.stop();
          fs.rmSync(bareDir, { recursive: true, force: true });
          if (dialect === 'postgres') await withPostgres(postgresUrl, (client) => client.query(`drop database if exists ${bareDatabase}`));
        }
      }
      const server = await startServer(env);
      const searchDatabase = createDatabase(
        dialect === 'postgres' ? { dialect: 'postgres', url: databaseUrl(postgresUrl, database) } : { dialect: 'sqlite', file: path.join(dataDir, 'products.db') },
      );
      const unindexed = () => searchDatabase.dialect.searchIndex.countUnindexed(searchDatabase.db);
      try {
        runs.push(await importThroughServer(server, file, { label: `${dialect} import ${file.rows}`, dialect, kind: 'empty' }, unindexed));
        if (file === reference) {
          runs.push(await importThroughServer(server, file, { label: `${dialect} re-import ${file.rows}`, dialect, kind: 're-import' }, unindexed));
          floors.push(await measureNaive(dialect, file));
        }
        // The floors of every file (the 1M target is its own floor's), the rest of the reference file's only.
        const rows = file.rows;
        if (dialect === 'postgres') {
          const url = databaseUrl(postgresUrl, database);
          await withPostgres(url, (client) =>
            client.query('create table raw_copy (name text, sku text, description text, price text, active text); create schema floor; create table floor.products (like public.products including all)'),
          );
          if (file === reference) {
            floors.push({ dialect, rows, kind: 'other', label: 'psql COPY into an unindexed table', seconds: timed('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy raw_copy from '${file.file}' with (format csv, header true)`]) });
          }
          const sql = `set search_path = floor;${postgresFloorSql(file.file)}`;
          floors.push({ dialect, rows, kind: 'empty', label: 'psql COPY + one upsert (empty table)', seconds: timed('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1'], sql) });
          if (file === reference) {
            floors.push({ dialect, rows, kind: 're-import', label: 'psql COPY + one upsert (re-import)', seconds: timed('psql', [url, '-q', '-v', 'ON_ERROR_STOP=1'], sql) });
          }
        }
        if (dialect === 'sqlite') {
          if (!hasCommand('sqlite3')) {
            notes.push('sqlite3 CLI not installed (apt-get install -y sqlite3): SQLite floor skipped');
          } else {
            // An empty database with our schema: the server's, emptied, without the search index
            // (the CLI may be older than FTS5's contentless_delete, and the floor imports without it).
            const floorDb = path.join(dataDir, 'floor.db');
            fs.copyFileSync(path.join(dataDir, 'products.db'), floorDb);
            const floor = new BetterSqlite3(floorDb);
            floor.exec(`drop trigger products_search_after_delete; drop table product_search;
              drop index products_search_dirty_idx; alter table products drop column search_dirty;
              delete from products; pragma journal_mode = delete; vacuum;`);
            floor.close();
            floors.push({ dialect, rows, kind: 'empty', label: `sqlite3 .import + one upsert, ${SQLITE_CACHE_KIB / 1024} MiB cache (empty)`, seconds: timed('sqlite3', [floorDb], sqliteFloorSql(file.file)) });
            if (file === reference) floors.push({ dialect, rows, kind: 're-import', label: `sqlite3 .import + one upsert, ${SQLITE_CACHE_KIB / 1024} MiB cache (re-import)`, seconds: timed('sqlite3', [floorDb], sqliteFloorSql(file.file)) });
          }
        }
      } finally {
        await searchDatabase.close();
        await server.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
        if (dialect === 'postgres') await withPostgres(postgresUrl, (client) => client.query(`drop database if exists ${database}`));
      }
    }
  }

  console.log(`\nImport benchmark — ${notes.join('; ')}; load average at end ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  console.log(`Files: ${files.map((file) => `${file.rows} rows, ${(file.bytes / 1e6).toFixed(1)} MB`).join('; ')}\n`);
  console.log(
    `| run | rows | seconds (202 -> terminal) | rows/s | × its floor | naive's time ÷ this | peak RSS MB | GET /api/products p50 / p99 ms (n) | q=${SEARCH_TERM} every ${searchEveryMs} ms p50 / p99 ms (n) | last row found by q after completion (s) | search index caught up after completion (s) | PATCH every ${writeEveryMs} ms p50 / max ms (n) | status / counts |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const run of runs) {
    const { floorRatio, timesNaive } = comparisons(run, floors);
    console.log(
      `| ${run.label} | ${run.rows} | ${run.seconds.toFixed(2)} | ${Math.round(run.rows / run.seconds)} | ${floorRatio} | ${timesNaive} | ${run.peakRssMb} | ${run.p50.toFixed(1)} / ${run.p99.toFixed(1)} (${run.apiRequests}) | ${run.searches === 0 ? '–' : `${run.searchP50.toFixed(1)} / ${run.searchP99.toFixed(1)} (${run.searches})`} | ${run.findableSeconds.toFixed(2)} | ${run.indexCaughtUpSeconds === null ? 'indexer off' : run.indexCaughtUpSeconds.toFixed(1)} | ${run.writes === 0 ? '–' : `${run.writeP50.toFixed(1)} / ${run.writeMax.toFixed(1)} (${run.writes})`} | ${run.status}: ${run.counts} |`,
    );
  }
  console.log(
    '\nWhere the time went (seconds per phase: read, parse and validate on the job thread; the sink merges, checkpoints and commits beside the parse (SQLite: on its writer thread, after the job thread staged the batch within "wait for sink"), and only "wait for sink" holds the parser):\n',
  );
  console.log(`| run | ${PHASES.join(' | ')} |\n| --- |${PHASES.map(() => ' ---: |').join('')}`);
  for (const run of runs) {
    const cells = PHASES.map((phase) => (run.phases?.[phase] === undefined ? '–' : (run.phases[phase] / 1000).toFixed(2)));
    console.log(`| ${run.label} | ${cells.join(' | ')} |`);
  }
  console.log(`\n| reference (the same files, same run) | database | rows | seconds | rows/s |\n| --- | --- | ---: | ---: | ---: |`);
  for (const floor of floors) console.log(`| ${floor.label} | ${floor.dialect} | ${floor.rows} | ${floor.seconds.toFixed(2)} | ${Math.round(floor.rows / floor.seconds)} |`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
