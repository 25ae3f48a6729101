import { sql, type SqlBool } from 'kysely';
import type { PostgresConfig } from './connection.postgres.js';
import { openPostgresSink } from './import-sink.postgres.js';
import { postgresSearchIndex } from './search-index.postgres.js';
import type { SqlDialect } from './sql-dialect.js';
import { escapeLike } from './sql-fragments.js';

/** PostgreSQL's side of every difference between the databases (see SqlDialect). */
export function postgresDialect(config: PostgresConfig): SqlDialect {
  return {
    // ILIKE lower-cases both sides with the database's Unicode locale.
    containsInsensitive: (column, term) => sql<SqlBool>`${sql.ref(column)} ilike ${`%${escapeLike(term)}%`} escape '\\'`,
    async countProducts(db, active) {
      // The sums kept by triggers in product_counts (migration 0007): count(*) here reads a
      // million index entries (60–130 ms).
      const total = active === undefined ? 'total' : active ? 'total - inactive' : 'inactive';
      const { rows } = await sql<{ total: number | string | null }>`select sum(${sql.raw(total)}) as total from product_counts`.execute(db);
      return Number(rows[0]?.total ?? 0);
    },
    timestampValue: (iso) => sql<string | null>`cast(${iso} as timestamptz)`,
    searchIndex: postgresSearchIndex(),
    openImportSink: (options) => openPostgresSink(config, options),
  };
}
