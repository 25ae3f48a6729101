import { sql, type Expression, type SqlBool } from 'kysely';
import type { PostgresConfig } from './connection.postgres.js';
import { openPostgresSink } from './import-sink.postgres.js';
import { postgresSearchIndex } from './search-index.postgres.js';
import type { SqlDialect } from './sql-dialect.js';
import { escapeLike } from './sql-fragments.js';

/** PostgreSQL's side of every difference between the databases (see SqlDialect). */
export function postgresDialect(config: PostgresConfig): SqlDialect {
  return {
    containsInsensitive,
    async countProducts(db, active) {
      // The sums kept by triggers in product_counts (migration 0007): count(*) here reads a
      // million index entries (60–130 ms).
      const total = active === undefined ? 'total' : active ? 'total - inactive' : 'inactive';
      const { rows } = await sql<{ total: number | string | null }>`select sum(${sql.raw(total)}) as total from product_counts`.execute(db);
      return Number(rows[0]?.total ?? 0);
    },
    timestampValue: (iso) => sql<string | null>`cast(${iso} as timestamptz)`,
    async walkingIndexOrder(db, read) {
      // Inside a caller's transaction a setting would outlive the read: leave the plan alone there.
      if (db.isTransaction) return read(db);
      return db.transaction().execute(async (trx) => {
        // Nor bitmap scans, which yield rows out of order: estimating 1 match in a million from
        // ANALYZE's sample, the planner gathered every priced product by one and sorted them
        // (1.8 s) instead of walking the price index (3 ms). (enable_sort = off would also make
        // the page's read by id walk the name index: 2.8 s.) Parallel workers: off on every
        // connection (connection.postgres.ts).
        await sql`set local enable_seqscan = off`.execute(trx);
        await sql`set local enable_bitmapscan = off`.execute(trx);
        return read(trx);
      });
    },
    searchIndex: postgresSearchIndex(containsInsensitive),
    openImportSink: (options) => openPostgresSink(config, options),
    // Each import's sink opens and ends its own connections.
    close: async () => undefined,
  };
}

/** ILIKE lower-cases both sides (lower(), with the database's Unicode locale), then compares. */
function containsInsensitive(column: string, term: string): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} ilike ${`%${escapeLike(term)}%`} escape '\\'`;
}
