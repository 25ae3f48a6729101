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
  /**
   * Runs `write` — a job writing in bulk from its own thread (an import, a bulk delete) — with
   * `db`'s reads off the memory map while any such write runs, when it reads through one
   * (DatabaseOptions.mapReads); otherwise just runs it.
   */
  whileBulkWriting<T>(write: () => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /**
   * SQLite: `db` reads the file through a memory map, except while a bulk write runs
   * (whileBulkWriting). For the connection the API reads through; a job thread's would map the
   * file while it writes. Mapped, a dense search's count (~10,000 rows, one page each at 1M)
   * reads its pages without a copy into the 4 MiB page cache, which cannot hold them: q=window
   * 39 -> 17 ms, description=window 52 -> 25 ms (docs/performance-log.md, "the API's reads
   * through a memory map"). While a job writes, the file grows and changes under the map, whose
   * pages count in the process's RSS: an import with the map kept reached 303–481 MB, 228–250
   * without, and lists were slower.
   */
  mapReads?: boolean;
}

/** How much of a SQLite file `mapReads` maps: SQLite's own largest (SQLITE_MAX_MMAP_SIZE), so all of it up to 2 GB. */
const READ_MAP_BYTES = 0x7fff0000;

export function createDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Database {
  if (config.dialect === 'postgres') {
    const dialect = postgresDialect(config);
    const db = new Kysely<Tables>({ dialect: withSqlDialect(new PostgresDialect({ pool: createPostgresPool(config), cursor: Cursor }), dialect) });
    return wrapDatabase(db, dialect, { withStreamingReader: (read) => read(db), whileBulkWriting: (write) => write() });
  }
  const { file, cacheKib } = config;
  const dialect = sqliteDialect(file, cacheKib);
  const open = (readonly: boolean, mapBytes = 0) =>
    new Kysely<Tables>({ dialect: withSqlDialect(new SqliteDialectWaitingForLocks(openSqliteConnection(file, { readonly, cacheKib, mapBytes })), dialect) });
  const db = open(false, options.mapReads ? READ_MAP_BYTES : 0);
  return wrapDatabase(db, dialect, {
    async withStreamingReader(read) {
      const reader = open(true);
      try {
        return await read(reader);
      } finally {
        await reader.destroy();
      }
    },
    whileBulkWriting: options.mapReads ? unmappedDuringBulkWrites(db) : (write) => write(),
  });
}

/**
 * whileBulkWriting for a connection reading through a map: the first bulk write to start unmaps
 * it, the last to end maps it again (the pragma waits for a statement or transaction in progress
 * on the connection; SQLite unmaps once no read holds a mapped page).
 */
function unmappedDuringBulkWrites(db: Db): Database['whileBulkWriting'] {
  const setMap = (bytes: number) => sql`pragma mmap_size = ${sql.raw(String(bytes))}`.execute(db);
  let running = 0;
  return async (write) => {
    running += 1;
    try {
      if (running === 1) await setMap(0);
      return await write();
    } finally {
      running -= 1;
      // At shutdown the connection may be closed already: the map went with it.
      if (running === 0) await setMap(READ_MAP_BYTES).catch(() => undefined);
    }
  };
}

function wrapDatabase(db: Db, dialect: SqlDialect, access: Pick<Database, 'withStreamingReader' | 'whileBulkWriting'>): Database {
  return {
    db,
    dialect,
    ...access,
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
