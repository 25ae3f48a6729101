import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';

// Helpers for migrations only: they look at the Kysely instance they are given, never at app code.

export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** timestamptz on PostgreSQL; ISO-8601 text on SQLite, which sorts in time order. */
export function timestampType(db: Kysely<any>): RawBuilder<unknown> {
  return isPostgres(db) ? sql`timestamptz` : sql`text`;
}
