import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteExpiredUploads, deleteOrphanUploads } from '../../src/jobs/jobs.retention.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { catalog, uploadRaw, type JobJson } from './job-helpers.js';

describeEachDialect('upload retention (%s)', (dialect) => {
  let test: TestApp;
  beforeAll(async () => {
    // Runs no jobs (as the API processes of scaled mode): an upload stays queued for sure.
    test = await startTestApp(dialect, { UPLOAD_RETENTION_HOURS: '24' }, undefined, { runJobs: false });
  });
  afterAll(async () => {
    await test?.close();
  });

  it('keeps a cancelled import file for a retry until the retention period ends, then deletes it', async () => {
    const queued = (await uploadRaw(test.app, catalog(3, { skuPrefix: 'RET' }))).json() as JobJson;
    expect((await test.app.inject({ method: 'POST', url: `/api/jobs/${queued.id}/cancel` })).json()).toMatchObject({ status: 'cancelled' });
    const { db } = test.runtime.database;
    const filePath = (await db.selectFrom('jobs').select('file_path').where('id', '=', queued.id).executeTakeFirstOrThrow()).file_path as string;
    expect(fs.existsSync(filePath)).toBe(true);
    expect(path.dirname(filePath)).toBe(test.config.uploadDir);

    expect(await deleteExpiredUploads(test.runtime.database, 24)).toBe(0);
    expect(fs.existsSync(filePath)).toBe(true);
    expect(await deleteExpiredUploads(test.runtime.database, 24, new Date(Date.now() + 25 * 3_600_000))).toBe(1);
    expect(fs.existsSync(filePath)).toBe(false);
    expect((await test.app.inject({ method: 'POST', url: `/api/jobs/${queued.id}/retry` })).statusCode).toBe(409);
  });
});

describe('orphan uploads', () => {
  it('deletes files no job refers to once they are an hour old, and only those', async () => {
    const test = await startTestApp('sqlite');
    try {
      const dir = test.config.uploadDir;
      fs.mkdirSync(dir, { recursive: true });
      // A failed import whose file is kept for a retry.
      const kept = { id: '2f6ed567-7f87-41de-8346-9de468e6f382' };
      const keptPath = path.join(dir, `${kept.id}.csv`);
      fs.writeFileSync(keptPath, 'sku,name\n');
      const now = new Date().toISOString();
      await test.runtime.database.db
        .insertInto('jobs')
        .values({ id: kept.id, type: 'import', status: 'failed', file_path: keptPath, created_at: now, updated_at: now, finished_at: now })
        .execute();
      const orphan = path.join(dir, '3f6ed567-7f87-41de-8346-9de468e6f382.csv');
      const partial = path.join(dir, '4f6ed567-7f87-41de-8346-9de468e6f382.part');
      fs.writeFileSync(orphan, 'sku,name\n');
      fs.writeFileSync(partial, 'sku,na');
      const files = () => fs.readdirSync(dir).sort();
      const before = files();
      expect(await deleteOrphanUploads(test.runtime.database, dir)).toBe(0);
      expect(files()).toEqual(before);
      expect(await deleteOrphanUploads(test.runtime.database, dir, Date.now() + 2 * 3_600_000)).toBe(2);
      expect(files()).toEqual(before.filter((name) => !name.startsWith('3f6ed567') && !name.startsWith('4f6ed567')));
      expect(files().some((name) => name.startsWith(kept.id))).toBe(true);
    } finally {
      await test.close();
    }
  });
});

describe('jobs in the API documents', () => {
  it('describes the job routes with their statuses', async () => {
    const test = await startTestApp('sqlite');
    try {
      const spec = (await test.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
        components: { schemas: Record<string, unknown> };
      };
      const statuses = (route: string, method: string) => Object.keys(spec.paths[route]?.[method]?.responses ?? {}).sort();
      expect(statuses('/api/upload', 'post')).toEqual(expect.arrayContaining(['202', '400', '413', '415', '422']));
      expect(statuses('/api/jobs', 'get')).toEqual(expect.arrayContaining(['200', '422']));
      expect(statuses('/api/jobs/{id}', 'get')).toEqual(expect.arrayContaining(['200', '404', '422']));
      expect(statuses('/api/progress/{id}', 'get')).toEqual(expect.arrayContaining(['200', '404']));
      expect(statuses('/api/jobs/{id}/cancel', 'post')).toEqual(expect.arrayContaining(['200', '404', '409']));
      expect(statuses('/api/jobs/{id}/retry', 'post')).toEqual(expect.arrayContaining(['202', '404', '409']));
      expect(statuses('/api/jobs/{id}/errors', 'get')).toEqual(expect.arrayContaining(['200', '404']));
      expect(statuses('/api/products/bulk-delete', 'post')).toEqual(expect.arrayContaining(['202', '422']));
      expect(statuses('/api/products/bulk', 'delete')).toEqual(expect.arrayContaining(['202', '422']));
      expect(Object.keys(spec.components.schemas)).toEqual(expect.arrayContaining(['Job', 'JobAccepted']));
    } finally {
      await test.close();
    }
  });
});

describe('readiness with Redis configured', () => {
  it('answers 503 naming Redis when it does not answer', async () => {
    const test = await startTestApp('sqlite', { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const response = await test.app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ checks: { database: 'ok', redis: expect.stringMatching(/^failed/) } });
    } finally {
      await test.close();
    }
  });
});
