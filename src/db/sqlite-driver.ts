import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, SelectQueryNode, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import { API_WAL_AUTOCHECKPOINT_PAGES, SQLITE_BUSY_TIMEOUT_MS, SQLITE_LOCK_RETRY_MS, isSqliteBusy } from './connection.sqlite.js';

// Kysely's SQLite driver, except that a write meeting another connection's write lock (an
// import's transaction, on its own thread) waits for it without blocking the event loop.
//
// better-sqlite3 is synchronous: with a busy timeout, such a write waited inside SQLite, and the
// whole process with it. `BENCH_WRITE_EVERY_MS=500 npm run bench:import` (a PATCH every 500 ms
// during a 500k SQLite import) measured PATCHes of p50 338–537 ms, and the list's p99 of 500–850 ms
// against 13–30 ms without them: every request waited for the blocked loop. Here the connection's
// busy timeout is 0, and a statement SQLite answers SQLITE_BUSY is tried again a few milliseconds
// later, the connection free for other queries meanwhile. That is safe only where the statement
// changed nothing and no transaction holds state: an autocommit statement, or the BEGIN IMMEDIATE
// that every transaction starts with (holding the write lock from its start, a transaction never
// meets the lock half-way, where it could only fail). While other connections write (an import), the
// connection also leaves the checkpoints to them (API_WAL_AUTOCHECKPOINT_PAGES).

const FIRST_RETRY_MS = 1;
/** SQLite's own autocheckpoint threshold, kept while no other connection writes. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;
/** How long after another connection's last commit this one still leaves checkpoints to it (an import commits every second or so). */
const OTHERS_WRITING_MS = 10_000;

/** A Kysely dialect over `database`, whose writes wait for the write lock asynchronously (above). */
export class SqliteDialectWaitingForLocks extends SqliteDialect {
  readonly #database: BetterSqlite3.Database;

  constructor(database: BetterSqlite3.Database) {
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new SqliteDriverWaitingForLocks(this.#database);
  }
}

/** Commit, rollback and savepoints are SqliteDriver's: they run on the connection they are given. */
class SqliteDriverWaitingForLocks extends SqliteDriver {
  readonly #database: BetterSqlite3.Database;
  readonly #mutex = new Mutex();
  readonly #connection: DatabaseConnection;
  #checkpointPages = DEFAULT_AUTOCHECKPOINT_PAGES;
  /** PRAGMA data_version as last read: it changes when another connection commits. */
  #dataVersion = 0;
  #othersCommittedAt = -Infinity;

  constructor(database: BetterSqlite3.Database) {
    super({ database });
    this.#database = database;
    this.#connection = {
      executeQuery: (query) => this.#executeWaitingForLock(query),
      streamQuery: (query) => this.#stream(query),
    };
  }

  override async init(): Promise<void> {
    this.#database.pragma('busy_timeout = 0');
    this.#database.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
    this.#dataVersion = this.#readDataVersion();
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    return this.#connection;
  }

  override async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async destroy(): Promise<void> {
    this.#database.close();
  }

  async #executeWaitingForLock<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const startedAt = performance.now();
    for (let retryMs = FIRST_RETRY_MS; ; retryMs = Math.min(retryMs * 2, SQLITE_LOCK_RETRY_MS)) {
      try {
        return this.#execute<R>(query);
      } catch (error) {
        const waited = performance.now() - startedAt;
        if (!isSqliteBusy(error) || this.#database.inTransaction || waited >= SQLITE_BUSY_TIMEOUT_MS) throw error;
      }
      // Nothing is held: other queries may use the connection meanwhile.
      this.#mutex.unlock();
      await sleep(retryMs);
      await this.#mutex.lock();
    }
  }

  #execute<R>({ sql, parameters }: CompiledQuery): QueryResult<R> {
    const statement = this.#database.prepare(sql);
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    if (!this.#database.inTransaction) this.#chooseCheckpointThreshold();
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  /**
   * Before an autocommit write or a transaction's BEGIN IMMEDIATE (SQLite checkpoints, when due,
   * right after a commit, and no other connection commits inside a transaction of ours, which holds
   * the write lock throughout): while another connection has committed lately, a threshold above
   * what an import leaves in the WAL, so that the import checkpoints its own pages on its own
   * thread; else SQLite's default, so that the API's own writes are checkpointed in small passes
   * (500k products, 6,000 single-row updates: max 27 ms each, where a 128 MiB threshold made one of
   * them take 424 ms).
   */
  #chooseCheckpointThreshold(): void {
    const version = this.#readDataVersion();
    if (version !== this.#dataVersion) {
      this.#dataVersion = version;
      this.#othersCommittedAt = performance.now();
    }
    const othersWriting = performance.now() - this.#othersCommittedAt < OTHERS_WRITING_MS;
    const pages = othersWriting ? API_WAL_AUTOCHECKPOINT_PAGES : DEFAULT_AUTOCHECKPOINT_PAGES;
    if (pages === this.#checkpointPages) return;
    this.#database.pragma(`wal_autocheckpoint = ${pages}`);
    this.#checkpointPages = pages;
  }

  #readDataVersion(): number {
    return this.#database.pragma('data_version', { simple: true }) as number;
  }

  async *#stream<R>({ sql, parameters, query }: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query)) throw new Error('The SQLite driver streams select queries only.');
    for (const row of this.#database.prepare(sql).iterate(parameters)) yield { rows: [row as R] };
  }
}

/** One holder at a time. */
class Mutex {
  #held: Promise<void> | null = null;
  #release: (() => void) | null = null;

  async lock(): Promise<void> {
    while (this.#held) await this.#held;
    this.#held = new Promise((resolve) => {
      this.#release = resolve;
    });
  }

  unlock(): void {
    const release = this.#release;
    this.#held = null;
    this.#release = null;
    release?.();
  }
}
