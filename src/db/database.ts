import { Kysely, PostgresDialect, sql } from 'kysely';
import Cursor from 'pg-cursor';
import type { DatabaseConfig } from '../config.js';
import { once } from '../shared/shutdown.js';
import { createPostgresPool } from './connection.postgres.js';
import { openSqliteConnection } from './connection.sqlite.js';
import type { Tables } from './database.schema.js';
import { postgresDialect } from './dialect.postgres.js';
import { sqliteDialect } from './dialect.sqlite.js';
import { SqliteDialectWaitingForLocks } from './sqlite-driver.js';
import { withSqlDialect, type SqlDialect } from './sql-dialect.js';

export type Db = Kysely<Tables>;

/**
 * One open database, whichever dialect. The rest of the app talks to `db` (Kysely) and to
 * `dialect`, the one object that holds what differs between the databases (sql-dialect.ts);
 * nothing above src/db/ asks which database it is.
 */
export interface Database {
  readonly db: Db;
  readonly dialect: SqlDialect;
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

export function createDatabase(config: DatabaseConfig): Database {
  if (config.dialect === 'postgres') {
    const dialect = postgresDialect(config);
    const db = new Kysely<Tables>({ dialect: withSqlDialect(new PostgresDialect({ pool: createPostgresPool(config), cursor: Cursor }), dialect) });
    return wrapDatabase(db, dialect, (read) => read(db));
  }
  const { file, cacheKib } = config;
  const dialect = sqliteDialect(file, cacheKib);
  const open = (readonly: boolean) =>
    new Kysely<Tables>({ dialect: withSqlDialect(new SqliteDialectWaitingForLocks(openSqliteConnection(file, { readonly, cacheKib })), dialect) });
  return wrapDatabase(open(false), dialect, async (read) => {
    const reader = open(true);
    try {
      return await read(reader);
    } finally {
      await reader.destroy();
    }
  });
}

function wrapDatabase(db: Db, dialect: SqlDialect, withStreamingReader: Database['withStreamingReader']): Database {
  return {
    db,
    dialect,
    withStreamingReader,
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: once(async () => {
      await dialect.close();
      await db.destroy();
    }),
  };
}

/**
 * SQLSTATEs of a lost server: 08xxx connection exceptions; a backend terminated, the server
 * shutting down or starting; every connection slot taken (53300: others' connections go away).
 */
const CONNECTION_LOSS_CODES = ['57P01', '57P02', '57P03', '53300', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'];

/**
 * True when `error` says the connection to PostgreSQL was lost or could not be had (the network
 * cut, the backend terminated, the server restarting, no connection slot free): the same work may
 * succeed on a new connection.
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
