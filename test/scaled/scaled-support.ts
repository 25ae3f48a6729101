import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { expect } from 'vitest';
import { waitUntil } from '../webhooks/webhook-support.js';
import { freePort } from '../support/ports.js';
import { POSTGRES_URL } from '../support/services.js';
import type { TestStore } from '../support/test-app.js';

// Plumbing of the scaled-mode failure and multi-process tests: a Redis server of the
// test's own, our entry points as real child processes, a TCP proxy in front of
// PostgreSQL that can cut every connection, and a row lock that holds an import
// deterministically in the middle of a batch.

const root = path.resolve(import.meta.dirname, '../..');

/** A `redis-server` of the test's own on a free port, persisted (AOF), so it can be stopped and started again with its data. */
export interface OwnRedis {
  url: string;
  /** Shuts the server down (it writes its AOF) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (if stopped). */
  start(): Promise<void>;
  /** stop() and remove its files. */
  close(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'product-importer-redis-'));
  let server: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    if (server) return;
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], {
      stdio: 'ignore',
    });
    server = child;
    await waitUntil(() => answersPing(url), 10_000, () => `redis-server on ${port} to answer`);
  };
  const stop = async () => {
    const child = server;
    server = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url,
    start,
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Deletes every key of a test's prefix on the shared Redis. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

/** The environment of a child process working on a test store: its database schema (through the URL) and its data directory. */
export function childEnv(store: TestStore, env: Record<string, string>): Record<string, string> {
  const databaseUrl = new URL(env.DATABASE_URL ?? POSTGRES_URL);
  if (store.schema) databaseUrl.searchParams.set('options', `-c search_path=${store.schema}`);
  return { ...store.env, LOG_LEVEL: 'warn', ...env, DATABASE_URL: databaseUrl.toString() };
}

export interface ChildEntry {
  child: ChildProcess;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  output(): string;
  /** Resolves once stdout or stderr has matched `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Runs one of our entry points (src/server.ts, src/worker.ts) as a real process, the way the other process tests do. */
export function runEntry(entry: string, env: Record<string, string>): ChildEntry {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 30_000) => waitUntil(() => pattern.test(output), timeoutMs, () => `${entry} to print ${pattern}; it printed: ${output}`),
  };
}

/** Kills the processes still running (test cleanup). */
export async function killAll(entries: ChildEntry[]): Promise<void> {
  for (const entry of entries) if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGKILL');
  await Promise.all(entries.map((entry) => entry.exited));
}

export async function waitForHealth(port: number, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true,
    timeoutMs,
    () => `the server on ${port} to answer /healthz`,
  );
}

/**
 * A TCP proxy to PostgreSQL on a port of its own: the app connects through it, and
 * `cut()` drops every connection and refuses new ones until `restore()`.
 */
export interface PostgresProxy {
  url: string;
  cut(): void;
  restore(): void;
  /** Connections made through the proxy so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startPostgresProxy(): Promise<PostgresProxy> {
  const target = new URL(POSTGRES_URL);
  const sockets = new Set<net.Socket>();
  let down = false;
  let made = 0;
  const server = net.createServer((client) => {
    if (down) return client.destroy();
    made++;
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(POSTGRES_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      down = false;
    },
    connections: () => made,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Holds an import in the middle of a batch: an uncommitted product with the key of one
 * of the file's SKUs, so the batch holding that SKU waits on its row lock (PostgreSQL
 * waits for the other transaction before it decides insert or update) until release().
 */
export interface RowHold {
  /** Resolves once the import's upsert of a batch waits on the lock. */
  waitUntilBlocking(timeoutMs?: number): Promise<void>;
  /** pg_terminate_backend on the import's backend waiting on the lock, until it is gone (the server closes its connection). */
  terminateWaiting(): Promise<void>;
  /** Rolls the product back: the import inserts it as if nothing had been there. */
  release(): Promise<void>;
}

export async function holdSku(store: TestStore, sku: string): Promise<RowHold> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`set search_path to ${store.schema}`);
  await client.query('begin');
  const now = new Date().toISOString();
  await client.query('insert into products (sku, sku_key, name, active, created_at, updated_at) values ($1, lower($1), $2, 1, $3, $3)', [sku, 'held', now]);
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  const pid = rows[0]!.pid;
  // Asked on another connection: pg_stat_activity is a snapshot kept for a whole transaction.
  const waiting = `from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid)) and query like '%from import_staging%'`;
  let released: Promise<void> | null = null;
  return {
    waitUntilBlocking: (timeoutMs = 30_000) =>
      waitUntil(async () => (await readNumber(store, `select count(*) as value ${waiting}`)) > 0, timeoutMs, () => `a batch to wait on the held SKU ${sku}`),
    async terminateWaiting() {
      expect(await readNumber(store, `select count(*) filter (where pg_terminate_backend(pid, 10000)) as value ${waiting}`)).toBe(1);
    },
    release() {
      released ??= client.query('rollback').then(() => client.end());
      return released;
    },
  };
}

/** Waits until the job's checkpoint covers `rows` and its next batch waits on `hold`. */
export async function waitUntilHeld(store: TestStore, jobId: string, hold: RowHold, rows: number): Promise<void> {
  let seen = 'nothing read yet';
  await waitUntil(
    async () => {
      const job = await readJobState(store, jobId);
      seen = JSON.stringify(job);
      if (['completed', 'failed', 'cancelled'].includes(String(job?.status))) throw new Error(`the job ended before it was held: ${seen}`);
      return Number(job?.rows_processed) === rows;
    },
    90_000,
    () => `the checkpoint to reach ${rows} rows (last seen: ${seen})`,
  );
  await hold.waitUntilBlocking();
}

/** The job's row as the database has it (status, phase, counts, error), for waits and their failure messages. */
async function readJobState(store: TestStore, jobId: string): Promise<Record<string, unknown> | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`set search_path to ${store.schema}`);
    const { rows } = await client.query('select status, phase, attempts, rows_processed, error from jobs where id = $1', [jobId]);
    return rows[0];
  } finally {
    await client.end();
  }
}

/** One number read straight from the test's schema (not through the app under test), e.g. a count. */
export async function readNumber(store: TestStore, query: string, params: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`set search_path to ${store.schema}`);
    const { rows } = await client.query<{ value: string }>(query, params);
    return Number(rows[0]!.value);
  } finally {
    await client.end();
  }
}

/** The rows a job's checkpoint covers (committed with its last batch). */
/** The claims of a job so far (each run of it, by any worker, is one more). */
export const jobAttempts = (store: TestStore, jobId: string) => readNumber(store, 'select attempts as value from jobs where id = $1', [jobId]);
/** The products whose SKU starts with `skuPrefix` and a dash. */
export const productCount = (store: TestStore, skuPrefix: string) =>
  readNumber(store, 'select count(*) as value from products where sku_key like $1', [`${skuPrefix.toLowerCase()}-%`]);
