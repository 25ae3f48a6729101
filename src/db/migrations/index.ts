import type { Migration } from 'kysely';
import * as createProducts from './0001_create_products.js';
import * as createOutbox from './0002_create_outbox.js';
import * as createJobs from './0003_create_jobs.js';

/**
 * Every migration, in order. Append new ones; never edit or reorder one that has landed:
 * databases in the field have already run it.
 */
export const migrations: Record<string, Migration> = {
  '0001_create_products': createProducts,
  '0002_create_outbox': createOutbox,
  '0003_create_jobs': createJobs,
};
