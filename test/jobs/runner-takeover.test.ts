import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobKinds } from '../../src/job-kinds.js';
import { claimJob, findJob } from '../../src/jobs/jobs.repository.js';
import { createThreadJobRunner } from '../../src/jobs/jobs.runner.js';
import { createJobThreadPool } from '../../src/jobs/jobs.thread-pool.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

// Finding 8: when a job thread dies, the runner fails the job only if the job is still
// that run's attempt. Real worker threads (support/crashing-thread.ts claims the job for
// real, then exits) and the real database; the takeover is a real second claim.

describeEachDialect('a job thread that dies (%s)', (dialect) => {
  let test: TestApp;
  let runner: ReturnType<typeof createThreadJobRunner>;
  beforeAll(async () => {
    test = await startTestApp(dialect);
    const threads = createJobThreadPool(test.config.database, { entry: new URL('./support/crashing-thread-entry.mjs', import.meta.url) });
    runner = createThreadJobRunner(test.runtime.database, { kinds: jobKinds, progress: test.runtime.progressBus, outboxSignal: test.runtime.outboxSignal, threads });
  });
  afterAll(async () => {
    await runner?.close();
    await test?.close();
  });

  async function insertImport(id: string, filename: string): Promise<void> {
    const now = new Date().toISOString();
    await test.runtime.database.db
      .insertInto('jobs')
      .values({ id, type: 'import', status: 'queued', filename, created_at: now, updated_at: now })
      .execute();
  }

  it('fails its job when the job is still its own attempt', async () => {
    const id = '10000000-0000-4000-8000-000000000001';
    await insertImport(id, 'crash-now');
    expect(await runner.run(id, new AbortController().signal)).toBe('finished');
    const job = await findJob(test.runtime.database.db, id);
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job?.error).toMatch(/stopped unexpectedly/);
  });

  it('leaves a job that another run took over running', async () => {
    const id = '10000000-0000-4000-8000-000000000002';
    await insertImport(id, 'wait-for-takeover');
    const run = runner.run(id, new AbortController().signal);
    const { db } = test.runtime.database;
    const deadline = Date.now() + 20_000;
    while ((await findJob(db, id))?.attempts !== 1) {
      if (Date.now() > deadline) throw new Error('the thread never claimed the job');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Another worker takes the job over (e.g. BullMQ handed a stalled job to it).
    expect(await claimJob(db, id, new Date().toISOString())).toMatchObject({ attempts: 2, status: 'running' });
    expect(await run).toBe('finished');
    expect(await findJob(db, id)).toMatchObject({ status: 'running', attempts: 2, error: null, finished_at: null });
  });
});
