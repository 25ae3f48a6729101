import type { Dialect, Expression, RawBuilder, SqlBool } from 'kysely';
import type { Executor } from './database.schema.js';
import type { ImportSink, SinkOptions } from './import-sink.js';
import type { SearchIndex } from './search-index.js';

/**
 * Everything that differs between SQLite and PostgreSQL, as one object built from the
 * configuration (dialect.sqlite.ts, dialect.postgres.ts). Code above src/db/ uses it and never
 * asks which database it has. A repository that holds only a connection or a transaction finds
 * it with `dialectOf(db)`; holders of the `Database` have it as `database.dialect`.
 */
export interface SqlDialect {
  /**
   * `column` contains `term`, ignoring case the same way on both databases: a character of the
   * text matches one of the term when their lower-case forms are equal (Unicode, not only ASCII).
   */
  containsInsensitive(column: string, term: string): Expression<SqlBool>;
  /** The exact number of products, or of the active (true) or inactive (false) ones, without counting rows one by one. */
  countProducts(db: Executor, active?: boolean): Promise<number>;
  /** An ISO-8601 timestamp as a typed value, where its column type cannot be inferred (e.g. in a VALUES list). */
  timestampValue(iso: string | null): RawBuilder<string | null>;
  /**
   * Runs `read`, whose queries filter rows the planner cannot estimate (a text search's `ILIKE`)
   * while walking an order's index, so that it keeps walking. PostgreSQL: in a transaction without
   * sequential or bitmap scans: guessing a few dozen matches of a million, its planner scanned
   * and sorted the whole table instead (1.0–1.8 s for `q=window&active=true&sort=price&order=desc`,
   * which finds its page a few thousand rows into the price index). SQLite: as it is.
   */
  walkingIndexOrder<T>(db: Executor, read: (db: Executor) => Promise<T>): Promise<T>;
  /** The product search index (migration 0010). */
  readonly searchIndex: SearchIndex;
  /**
   * Where an import's validated batches go, on a connection of its own: each batch's products,
   * rejected rows and the job's checkpoint in one transaction.
   */
  openImportSink(options: SinkOptions): Promise<ImportSink>;
  /** Ends what the dialect holds open besides the Database's connections (SQLite: the imports' writer threads). Idempotent. */
  close(): Promise<void>;
}

const SQL_DIALECT = Symbol('sqlDialect');

/**
 * A Kysely dialect whose adapter carries our SqlDialect, so that every connection and
 * transaction made from it can answer `dialectOf`.
 */
export function withSqlDialect(kyselyDialect: Dialect, sqlDialect: SqlDialect): Dialect {
  return {
    createDriver: () => kyselyDialect.createDriver(),
    createQueryCompiler: () => kyselyDialect.createQueryCompiler(),
    createIntrospector: (db) => kyselyDialect.createIntrospector(db),
    createAdapter: () => Object.assign(kyselyDialect.createAdapter(), { [SQL_DIALECT]: sqlDialect }),
  };
}

/** The dialect of a connection or transaction opened by createDatabase. */
export function dialectOf(db: Executor): SqlDialect {
  const found = (db.getExecutor().adapter as { [SQL_DIALECT]?: SqlDialect })[SQL_DIALECT];
  if (!found) throw new Error('This connection was not opened by createDatabase: it has no SQL dialect.');
  return found;
}
