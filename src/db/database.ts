import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Dialect } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import type { DatabaseConfig } from '../config.js';
import { once } from '../shared/shutdown.js';
import type { Tables } from './database.schema.js';

export type Db = Kysely<Tables>;
export type SqlDialectName = DatabaseConfig['dialect'];

/**
 * One open database, whichever dialect. The rest of the app talks to `db` (Kysely)
 * and never asks which dialect is behind it; the few things that must differ
 * (streaming readers, error codes, bulk writes) are answered here or by a
 * factory that reads `dialect`.
 */
export interface Database {
  readonly db: Db;
  readonly dialect: SqlDialectName;
  readonly config: DatabaseConfig;
  /**
   * Runs `read` on a connection that can hold a long streaming read without
   * blocking other queries (SQLite: a separate read-only connection; PostgreSQL:
   * the pool, whose streams use a cursor).
   */
  withStreamingReader<T>(read: (db: Db) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Pragmas every SQLite connection of ours runs with. */
export const SQLITE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  'busy_timeout = 10000',
  'foreign_keys = ON',
  'cache_size = -65536',
];

export function openSqliteConnection(file: string, options: { readonly?: boolean } = {}): BetterSqlite3.Database {
  if (!options.readonly) fs.mkdirSync(path.dirname(file), { recursive: true });
  const connection = new BetterSqlite3(file, { readonly: options.readonly ?? false });
  for (const pragma of SQLITE_PRAGMAS) {
    if (options.readonly && pragma.startsWith('journal_mode')) continue;
    connection.pragma(pragma);
  }
  return connection;
}

export function createDatabase(config: DatabaseConfig): Database {
  return config.dialect === 'sqlite' ? createSqliteDatabase(config.file, config) : createPostgresDatabase(config);
}

function createSqliteDatabase(file: string, config: DatabaseConfig): Database {
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: openSqliteConnection(file) }) });
  return wrapDatabase(db, config, {
    async withStreamingReader(read) {
      const reader = new Kysely<Tables>({
        dialect: new SqliteDialect({ database: openSqliteConnection(file, { readonly: true }) }),
      });
      try {
        return await read(reader);
      } finally {
        await reader.destroy();
      }
    },
  });
}

/** bigint (int8) columns hold ids and cents, all far below 2^53: read them as numbers. */
const INT8_OID = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export function createPostgresPool(config: Extract<DatabaseConfig, { dialect: 'postgres' }>, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.url,
    max,
    types: pgTypes as pg.CustomTypesConfig,
    options: config.schema ? `-c search_path=${config.schema}` : undefined,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  // Nor one in use (the pool listens only to idle ones): its query in flight fails with the
  // error, and the pool drops the client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

function createPostgresDatabase(config: Extract<DatabaseConfig, { dialect: 'postgres' }>): Database {
  const dialect: Dialect = new PostgresDialect({ pool: createPostgresPool(config), cursor: Cursor });
  const db = new Kysely<Tables>({ dialect });
  return wrapDatabase(db, config, { withStreamingReader: (read) => read(db) });
}

function wrapDatabase(
  db: Db,
  config: DatabaseConfig,
  parts: Pick<Database, 'withStreamingReader'>,
): Database {
  return {
    db,
    dialect: config.dialect,
    config,
    withStreamingReader: parts.withStreamingReader,
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: once(() => db.destroy()),
  };
}

/** SQLSTATEs of a lost server: 08xxx connection exceptions; a backend terminated, the server shutting down or starting. */
const CONNECTION_LOSS_CODES = ['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'];

/**
 * True when `error` says the connection to PostgreSQL was lost (the network cut, the backend
 * terminated, the server restarting): the same work may succeed on a new connection.
 * Never true on SQLite (a file, no connection to lose).
 */
export function isConnectionLoss(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (code.startsWith('08') || CONNECTION_LOSS_CODES.includes(code))) return true;
  return typeof message === 'string' && message.startsWith('Connection terminated');
}

/** True when `error` is a unique-constraint violation, in either dialect's words. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
