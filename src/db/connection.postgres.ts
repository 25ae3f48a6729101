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
 * Settings of every connection. jit off: this app's statements are short (a page, a count that
 * stops at 10,001, an import's batch), but a walk of a million-row index is costed above
 * jit_above_cost, and compiling it took 6–100 ms for a 2.5 ms read (`q=window&active=true&sort=price`
 * at 1M: 9–99 ms with JIT, 2.5 ms without).
 */
function connectionOptions(config: PostgresConfig): string {
  return ['-c jit=off', ...(config.schema ? [`-c search_path=${config.schema}`] : [])].join(' ');
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
