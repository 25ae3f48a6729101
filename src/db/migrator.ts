import { Migrator, PostgresAdapter, sql, type Kysely, type MigrationResult } from 'kysely';
import { migrations } from './migrations/index.js';

/**
 * The PostgreSQL schema our tables live in (the first of the search path). Kysely's
 * migrator must be told: left alone it would find another schema's migration tables
 * and take them for ours.
 */
async function currentSchema(db: Kysely<any>): Promise<string | undefined> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return undefined;
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema;
}

/**
 * Kysely's migrator looks for its table by reading every schema's tables; a schema that another
 * session drops meanwhile (tests, other apps sharing the database) fails that read with
 * "schema … does not exist" although nothing of ours is wrong. Such a failure is tried again.
 */
function isOtherSchemaDropped(error: unknown, ownSchema: string | undefined): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === '3F000' && typeof message === 'string' && (ownSchema === undefined || !message.includes(`"${ownSchema}"`));
}

const MIGRATION_ATTEMPTS = 3;

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  const schema = await currentSchema(db);
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema });
  let outcome = await migrator.migrateToLatest();
  for (let attempt = 1; attempt < MIGRATION_ATTEMPTS && isOtherSchemaDropped(outcome.error, schema); attempt++) {
    outcome = await migrator.migrateToLatest();
  }
  const { error, results = [] } = outcome;
  if (error) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return results;
}
