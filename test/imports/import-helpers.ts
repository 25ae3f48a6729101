import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { importCsvFile, type ImportProgress, type ImportRunContext } from '../../src/imports/imports.pipeline.js';
import type { JobOutcome as ImportOutcome } from '../../src/jobs/jobs.kind.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createTestStore, testConfig, type Dialect, type TestStore } from '../support/test-app.js';

// A real, migrated database and a place for files: what importCsvFile needs, without HTTP.

export interface StoredProduct {
  sku: string;
  sku_key: string;
  name: string;
  description: string | null;
  price_cents: number | null;
  active: number;
  created_at: string;
  updated_at: string;
}

export interface ImportHarness {
  runtime: Runtime;
  store: TestStore;
  /** Writes a file under the store's directory (gzip-compressed when the name ends in .gz). */
  writeFile(name: string, content: string | Buffer): string;
  createJob(filePath: string): Promise<string>;
  run(jobId: string, options?: Partial<Pick<ImportRunContext, 'batchRows' | 'mergeRows' | 'limits' | 'isCancelled' | 'onPhases'>>): Promise<{
    outcome: ImportOutcome;
    progress: ImportProgress[];
  }>;
  job(jobId: string): Promise<Record<string, unknown>>;
  errors(jobId: string): Promise<Array<{ line: number; sku: string | null; field: string | null; message: string; raw: string | null }>>;
  products(): Promise<StoredProduct[]>;
  close(): Promise<void>;
}

export async function openImportHarness(dialect: Dialect): Promise<ImportHarness> {
  const store = await createTestStore(dialect);
  const runtime = await openRuntime(testConfig(store));
  const { db } = runtime.database;
  return {
    runtime,
    store,
    writeFile(name, content) {
      const file = path.join(store.dataDir, name);
      const bytes = typeof content === 'string' ? Buffer.from(content) : content;
      fs.writeFileSync(file, name.endsWith('.gz') ? zlib.gzipSync(bytes) : bytes);
      return file;
    },
    async createJob(filePath) {
      const id = randomUUID();
      const now = new Date().toISOString();
      await db
        .insertInto('jobs')
        .values({
          id,
          type: 'import',
          status: 'running',
          filename: path.basename(filePath),
          file_path: filePath,
          gzip: filePath.endsWith('.gz') ? 1 : 0,
          bytes_total: fs.statSync(filePath).size,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return id;
    },
    async run(jobId, options = {}) {
      const progress: ImportProgress[] = [];
      const outcome = await importCsvFile({
        database: runtime.database,
        jobId,
        onProgress: (update) => progress.push(update),
        isCancelled: () => false,
        ...options,
      });
      return { outcome, progress };
    },
    async job(jobId) {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
      const numeric = ['bytes_total', 'bytes_processed', 'rows_processed', 'inserted', 'updated', 'unchanged', 'invalid', 'checkpoint_offset', 'checkpoint_line'];
      return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, numeric.includes(key) ? Number(value) : value]));
    },
    async errors(jobId) {
      const rows = await db
        .selectFrom('job_errors')
        .select(['line', 'sku', 'field', 'message', 'raw'])
        .where('job_id', '=', jobId)
        .orderBy('line')
        .execute();
      return rows.map((row) => ({ ...row, line: Number(row.line) }));
    },
    async products() {
      const rows = await db.selectFrom('products').selectAll().orderBy('sku_key').execute();
      return rows.map((row) => ({
        sku: row.sku,
        sku_key: row.sku_key,
        name: row.name,
        description: row.description,
        price_cents: row.price_cents === null ? null : Number(row.price_cents),
        active: Number(row.active),
        created_at: new Date(row.created_at).toISOString(),
        updated_at: new Date(row.updated_at).toISOString(),
      }));
    },
    async close() {
      await runtime.close();
      await store.drop();
    },
  };
}

/** The counters of a job row that must add up. */
export function countsOf(job: Record<string, unknown>) {
  const { rows_processed, inserted, updated, unchanged, invalid } = job as Record<string, number>;
  return { rows_processed, inserted, updated, unchanged, invalid };
}
