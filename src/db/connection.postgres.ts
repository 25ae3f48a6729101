import pg from 'pg';
import type { DatabaseConfig } from '../config.js';

export type PostgresConfig = Extract<DatabaseConfig, { dialect: 'postgres' }>;

/** bigint (int8) columns hold ids and cents, all far below 2^53: read them as numbers. */
const INT8_OID = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * Settings of every connection, for statements that are short (a page, a count that stops at
 * 10,001, an import's batch):
 * - jit off: a walk of a million-row index is costed above jit_above_cost, and compiling it took
 *   6–100 ms for a 2.5 ms read (`q=window&active=true&sort=price` at 1M: 9–99 ms with JIT, 2.5 ms without);
 * - no parallel workers: starting them takes ~25 ms, and a bounded count then ran on 3 processes
 *   sharing the cores with the requests beside it (`q=window&active=true`'s count: 173–209 ms with
 *   2 workers, 64–67 ms without). No statement of ours reads enough rows to gain from them.
 */
function connectionOptions(config: PostgresConfig): string {
  const settings = ['jit=off', 'max_parallel_workers_per_gather=0', ...(config.schema ? [`search_path=${config.schema}`] : [])];
  return settings.map((setting) => `-c ${setting}`).join(' ');
}

export function createPostgresPool(config: PostgresConfig, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.url,
    max,
    types: pgTypes as pg.CustomTypesConfig,
    options: connectionOptions(config),
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  // Nor one in use (the pool listens only to idle ones): its query in flight fails with the
  // error, and the pool drops the client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
