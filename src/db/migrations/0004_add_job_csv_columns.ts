import type { Kysely } from 'kysely';

// The uploaded file's header as written, so the error report can be downloaded as a CSV
// with the user's own columns, fixed and uploaded again.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('csv_columns', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('csv_columns').execute();
}
