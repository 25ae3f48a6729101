import pg from 'pg';

// Which real servers the tests can reach. On a laptop without them the suites that
// need them skip with a printed reason; with CI=true a missing server fails the run.

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const inCi = process.env.CI === 'true';

async function postgresProblem(): Promise<string | null> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return `PostgreSQL at ${POSTGRES_URL} is not reachable (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let postgresCheck: Promise<string | null> | undefined;

/** True when PostgreSQL answers; false (with a printed reason) when not; throws in CI. */
export async function postgresAvailable(): Promise<boolean> {
  postgresCheck ??= postgresProblem();
  return serviceAvailable(await postgresCheck);
}

async function redisProblem(): Promise<string | null> {
  const { Redis } = await import('ioredis');
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return `Redis at ${REDIS_URL} is not reachable (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    client.disconnect();
  }
}

let redisCheck: Promise<string | null> | undefined;

/** True when Redis answers; false (with a printed reason) when not; throws in CI. */
export async function redisAvailable(): Promise<boolean> {
  redisCheck ??= redisProblem();
  return serviceAvailable(await redisCheck);
}

/** Why PostgreSQL-backed suites are skipped (printed), or null when it answers; throws in CI. */
export async function postgresSkipReason(): Promise<string | null> {
  return (await postgresAvailable()) ? null : ((await postgresCheck) as string);
}

/** Why Redis-backed suites are skipped (printed), or null when it answers; throws in CI. */
export async function redisSkipReason(): Promise<string | null> {
  return (await redisAvailable()) ? null : ((await redisCheck) as string);
}

export function serviceAvailable(problem: string | null): boolean {
  if (problem === null) return true;
  if (inCi) throw new Error(`${problem}; CI=true, so this suite fails instead of skipping`);
  console.warn(`SKIPPED: ${problem}`);
  return false;
}
