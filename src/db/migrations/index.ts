import type { Migration } from 'kysely';
import * as createProducts from './0001_create_products.js';
import * as createOutbox from './0002_create_outbox.js';
import * as createJobs from './0003_create_jobs.js';
import * as addJobCsvColumns from './0004_add_job_csv_columns.js';
import * as createWebhooks from './0005_create_webhooks.js';
import * as createWebhookDeliveries from './0006_create_webhook_deliveries.js';
import * as speedUpProductList from './0007_speed_up_product_list.js';
import * as addRetentionIndexes from './0008_add_retention_indexes.js';
import * as createProductSearch from './0010_create_product_search.js';
import * as indexProductPrice from './0011_index_product_price.js';
import * as spreadProductCounts from './0012_spread_product_counts.js';
import * as indexNamesAndShortTerms from './0013_index_names_and_short_terms.js';
import * as separateSearchFields from './0014_separate_search_fields.js';
import * as indexProductActive from './0015_index_product_active.js';

/**
 * Every migration, in order. Append new ones; never edit or reorder one that has landed:
 * databases in the field have already run it.
 */
export const migrations: Record<string, Migration> = {
  '0001_create_products': createProducts,
  '0002_create_outbox': createOutbox,
  '0003_create_jobs': createJobs,
  '0004_add_job_csv_columns': addJobCsvColumns,
  '0005_create_webhooks': createWebhooks,
  '0006_create_webhook_deliveries': createWebhookDeliveries,
  '0007_speed_up_product_list': speedUpProductList,
  '0008_add_retention_indexes': addRetentionIndexes,
  '0010_create_product_search': createProductSearch,
  '0011_index_product_price': indexProductPrice,
  '0012_spread_product_counts': spreadProductCounts,
  '0013_index_names_and_short_terms': indexNamesAndShortTerms,
  '0014_separate_search_fields': separateSearchFields,
  '0015_index_product_active': indexProductActive,
};
