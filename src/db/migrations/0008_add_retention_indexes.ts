import { sql, type Kysely } from 'kysely';

// What the retention task's small batched deletes (and the upload bounds) look up, so each
// batch reads only the rows it deletes instead of scanning a table that has grown large.
export async function up(db: Kysely<any>): Promise<void> {
  // Finished jobs by finish time (unfinished jobs have none).
  await db.schema.createIndex('jobs_finished_at_idx').on('jobs').column('finished_at').execute();
  // Jobs that keep an uploaded file: their count and bytes, and the oldest to let go first.
  await db.schema
    .createIndex('jobs_kept_file_idx')
    .on('jobs')
    .column('finished_at')
    .where(sql.ref('file_path'), 'is not', null)
    .execute();
  // Ended deliveries by attempt time (pending ones have none).
  await db.schema.createIndex('webhook_deliveries_attempted_at_idx').on('webhook_deliveries').column('attempted_at').execute();
  // Whether an event still has a pending delivery.
  await db.schema.createIndex('webhook_deliveries_event_id_idx').on('webhook_deliveries').column('event_id').execute();
  // Fanned-out events by fan-out time.
  await db.schema.createIndex('outbox_events_dispatched_at_idx').on('outbox_events').column('dispatched_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of [
    'outbox_events_dispatched_at_idx',
    'webhook_deliveries_event_id_idx',
    'webhook_deliveries_attempted_at_idx',
    'jobs_kept_file_idx',
    'jobs_finished_at_idx',
  ]) {
    await db.schema.dropIndex(name).execute();
  }
}
