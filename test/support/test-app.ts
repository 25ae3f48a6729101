import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { openRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js';
import { POSTGRES_URL } from './services.js';

/** Suites run on each: describeEachDialect (each-dialect.ts). */
export type Dialect = 'sqlite' | 'postgres';

/**
 * A private place to keep data: a temporary directory, and for PostgreSQL a fresh
 * schema of our own. `drop()` removes both and touches nothing else.
 */
export interface TestStore {
  dataDir: string;
  /** The PostgreSQL schema the app works in (null on SQLite). */
  schema: string | null;
  env: Record<string, string>;
  drop(): Promise<void>;
}

export async function createTestStore(dialect: Dialect): Promise<TestStore> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'product-importer-test-'));
  const env: Record<string, string> = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  let schema: string | null = null;
  if (dialect === 'postgres') {
    schema = `pi_test_${randomBytes(6).toString('hex')}`;
    await withPostgres((client) => client.query(`create schema ${schema}`));
    env.DATABASE_URL = POSTGRES_URL;
  }
  return {
    dataDir,
    schema,
    env,
    async drop() {
      if (schema) await withPostgres((client) => client.query(`drop schema if exists ${schema} cascade`));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The app's configuration for a store, with `env` on top (e.g. API_TOKEN). */
export function testConfig(store: TestStore, env: Record<string, string> = {}): Config {
  const config = loadConfig({ ...store.env, ...env });
  if (config.database.dialect === 'postgres' && store.schema) config.database.schema = store.schema;
  return config;
}

/** A migrated database in a fresh store, without the app; `close()` closes it and drops the store. */
export interface TestDatabase {
  database: Database;
  store: TestStore;
  close(): Promise<void>;
}

export async function openTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const store = await createTestStore(dialect);
  const database = createDatabase(testConfig(store).database);
  try {
    await migrateToLatest(database.db);
  } catch (error) {
    await database.close();
    await store.drop();
    throw error;
  }
  return {
    database,
    store,
    async close() {
      await database.close();
      await store.drop();
    },
  };
}

export async function withPostgres<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface TestApp {
  app: FastifyInstance;
  runtime: Runtime;
  config: Config;
  store: TestStore;
  /** Closes the app and its components, then drops the store. */
  close(): Promise<void>;
}

/**
 * The real app on real components (migrated database), ready for `app.inject`; on a new store,
 * or on `existing` (which close() then leaves for its owner to drop). `options.runJobs: false`
 * gives an app whose jobs stay queued (as the API processes of scaled mode).
 */
export async function startTestApp(dialect: Dialect, env: Record<string, string> = {}, existing?: TestStore, options: RuntimeOptions = {}): Promise<TestApp> {
  const store = existing ?? (await createTestStore(dialect));
  const config = testConfig(store, env);
  const runtime = await openRuntime(config, undefined, options);
  const app = await buildApp(runtime);
  await app.ready();
  return {
    app,
    runtime,
    config,
    store,
    async close() {
      await app.close();
      await runtime.close();
      if (!existing) await store.drop();
    },
  };
}
