import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Pool } from 'undici';
import { buildApp } from '../src/app.js';
import { loadConfig, type Config } from '../src/config.js';
import { appendOutboxEvents } from '../src/outbox/outbox.repository.js';
import { openRuntime } from '../src/runtime.js';
import { startWebhookDispatcher } from '../src/webhooks/webhooks.dispatcher.js';

// npm run bench:webhooks
// 1. Deliveries per second from the dispatcher to a fast local receiver (in its own thread),
//    with the default concurrency settings: EVENTS events, each to WEBHOOKS webhooks.
// 2. The products API's p99 (PATCH over HTTP, CLIENTS at a time) without webhooks, and with
//    a receiver that takes 2 s per request subscribed; the reference: with it, at most
//    P99_FACTOR times the p99 without (a dispatcher that blocked the event loop blows through it).
//    Over the reference, the run exits with status 1.
// SQLite always; PostgreSQL too when BENCH_POSTGRES_URL (default postgres://root@127.0.0.1:5432/test) answers.

const EVENTS = Number(process.env.BENCH_EVENTS ?? 5_000);
const WEBHOOKS = Number(process.env.BENCH_WEBHOOKS ?? 4);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 2_000);
const CLIENTS = 8;
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
/** The API's p99 with a slow receiver subscribed may be at most this many times the p99 without. */
const P99_FACTOR = 5;

const RECEIVER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
let count = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const answer = () => { count++; res.writeHead(200, { 'content-type': 'text/plain' }); res.end('ok'); };
    if (workerData.delayMs) setTimeout(answer, workerData.delayMs); else answer();
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'count') parentPort.postMessage({ count });
  if (message === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)); }
});
`;

interface Receiver {
  url: string;
  count(): Promise<number>;
  close(): Promise<void>;
}

async function startReceiver(delayMs: number): Promise<Receiver> {
  const worker = new Worker(RECEIVER, { eval: true, workerData: { delayMs } });
  const next = () => new Promise<Record<string, number>>((resolve) => worker.once('message', resolve));
  const { port } = await next();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    async count() {
      worker.postMessage('count');
      return (await next()).count as number;
    },
    async close() {
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

interface Store {
  name: string;
  config: Config;
  drop(): Promise<void>;
}

async function stores(): Promise<Store[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-bench-'));
  const base = { DATA_DIR: dir, LOG_LEVEL: 'silent', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' };
  const list: Store[] = [{ name: 'SQLite', config: loadConfig(base), drop: async () => fs.rmSync(dir, { recursive: true, force: true }) }];
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    const schema = `webhooks_bench_${randomBytes(4).toString('hex')}`;
    await client.query(`create schema ${schema}`);
    const config = loadConfig({ ...base, DATABASE_URL: POSTGRES_URL });
    if (config.database.dialect === 'postgres') config.database.schema = schema;
    list.push({
      name: 'PostgreSQL',
      config,
      async drop() {
        await client.query(`drop schema ${schema} cascade`);
        await client.end();
      },
    });
  } catch (error) {
    console.warn(`PostgreSQL skipped: ${error instanceof Error ? error.message : String(error)}`);
    await client.end().catch(() => undefined);
  }
  return list;
}

async function deliveriesPerSecond(config: Config): Promise<{ deliveries: number; seconds: number }> {
  const receiver = await startReceiver(0);
  const runtime = await openRuntime(config, () => undefined, { runJobs: false, runWebhookDispatcher: false });
  try {
    const { db } = runtime.database;
    const now = new Date().toISOString();
    for (let index = 0; index < WEBHOOKS; index++) {
      await db
        .insertInto('webhooks')
        .values({ url: receiver.url, events: '["product.updated"]', enabled: 1, description: null, secret: `whsec_${randomBytes(32).toString('base64')}`, created_at: now, updated_at: now })
        .execute();
    }
    const product = { id: 1, sku: 'BENCH', name: 'Bench product', description: 'x'.repeat(200), price: '9.99', active: true, created_at: now, updated_at: now };
    await db.transaction().execute((trx) => appendOutboxEvents(trx, 'product.updated', Array.from({ length: EVENTS }, () => product), now));
    const expected = EVENTS * WEBHOOKS;
    const started = performance.now();
    const dispatcher = startWebhookDispatcher({ database: runtime.database, config: config.webhooks, signal: runtime.outboxSignal });
    while ((await receiver.count()) < expected) await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (performance.now() - started) / 1000;
    await dispatcher.close();
    return { deliveries: expected, seconds };
  } finally {
    await runtime.close();
    await receiver.close();
  }
}

async function apiP99(config: Config): Promise<{ without: number; withSlow: number; delivered: number }> {
  const slow = await startReceiver(2_000);
  const runtime = await openRuntime(config, () => undefined, { runJobs: false });
  const app = await buildApp(runtime);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CLIENTS });
  const call = async (method: 'POST' | 'PATCH', urlPath: string, body: unknown) => {
    const response = await pool.request({ method, path: urlPath, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.statusCode, body: (await response.body.json()) as { id: number } };
  };
  try {
    const ids: number[] = [];
    for (let index = 0; index < 100; index++) ids.push((await call('POST', '/api/products', { sku: `P99-${index}`, name: 'x' })).body.id);
    const round = async (label: string) => {
      const latencies: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (next < UPDATES) {
            const index = next++;
            const started = performance.now();
            await call('PATCH', `/api/products/${ids[index % ids.length]}`, { name: `${label} ${index}` });
            latencies.push(performance.now() - started);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      return latencies[Math.ceil(latencies.length * 0.99) - 1] as number;
    };
    await round('warm-up');
    const without = await round('without');
    // Every event so far fanned out (to no one) before the webhook exists.
    const { db } = runtime.database;
    while ((await db.selectFrom('outbox_events').select('id').where('dispatched_at', 'is', null).limit(1).execute()).length > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await call('POST', '/api/webhooks', { url: slow.url, events: ['product.updated'] });
    const withSlow = await round('with');
    return { without, withSlow, delivered: await slow.count() };
  } finally {
    await pool.close();
    await app.close();
    await runtime.close();
    await slow.close();
  }
}

const rows: string[][] = [];
for (const store of await stores()) {
  try {
    const throughput = await deliveriesPerSecond(store.config);
    const latency = await apiP99(store.config);
    const limit = latency.without * P99_FACTOR;
    if (latency.withSlow > limit) process.exitCode = 1;
    rows.push([
      store.name,
      `${Math.round(throughput.deliveries / throughput.seconds)}`,
      `${throughput.deliveries} in ${throughput.seconds.toFixed(2)} s`,
      latency.without.toFixed(1),
      latency.withSlow.toFixed(1),
      `${limit.toFixed(1)} (${latency.withSlow <= limit ? 'within' : 'OVER'})`,
    ]);
  } finally {
    await store.drop();
  }
}

const header = ['database', 'deliveries/s', 'delivered', 'API p99 ms, no webhooks', 'API p99 ms, slow receiver subscribed', `reference: at most ${P99_FACTOR}x`];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] as number)).join(' | ')} |`;
console.log(
  `\nWebhook delivery: ${EVENTS} events x ${WEBHOOKS} webhooks to a fast local receiver; API p99 over ${UPDATES} PATCHes, ${CLIENTS} clients (default WEBHOOK_CONCURRENCY / _PER_ENDPOINT)\n`,
);
console.log(line(header));
console.log(line(widths.map((width) => '-'.repeat(width))));
for (const row of rows) console.log(line(row));
console.log(`\nload (uptime): ${os.loadavg().map((load) => load.toFixed(2)).join(' ')}`);
if (process.exitCode === 1) console.log(`API p99 with a slow receiver is over ${P99_FACTOR}x the p99 without webhooks.`);
