import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { catalog, uploadRaw, waitForJob, type JobJson } from '../jobs/job-helpers.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import { startTestApp, testConfig, type TestApp } from '../support/test-app.js';
import { waitUntil } from '../webhooks/webhook-support.js';
import { childEnv, dropRedisPrefix, holdSku, jobAttempts, killAll, productCount, runEntry, waitUntilHeld, type ChildEntry, type RowHold } from './scaled-support.js';

// A worker process (`npm run worker`'s entry) stopped in the middle of an import, while one of
// its writes waits on a row lock the test holds: on SIGTERM it ends the write in hand (the first
// batch, 20,000 rows, written alone), hands the job back and exits 0; on SIGKILL (held in its
// second write, the rest of the file) another worker takes the job over within
// 1.5 × JOB_LOCK_TIMEOUT_MS. Either way the job completes exactly.
const available = (await postgresAvailable()) && (await redisAvailable());

const ROWS = 45_000; // written as the first 20,000 rows, then the other 25,000
const LOCK_TIMEOUT_MS = 2000;
/** A dead worker's lock runs out within LOCK_TIMEOUT_MS and live workers look for it every half of that. */
const TAKEOVER_MS = 1.5 * LOCK_TIMEOUT_MS;
/** The worker's forced exit (src/worker.ts). */
const WORKER_SHUTDOWN_LIMIT_MS = 30_000;

describe.skipIf(!available)('a worker stopped mid-import (PostgreSQL + Redis, real worker processes)', () => {
  const prefix = `pi-test-${randomBytes(5).toString('hex')}`;
  const env = { REDIS_URL, REDIS_PREFIX: prefix, JOB_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS) };
  const children: ChildEntry[] = [];
  const holds: RowHold[] = [];
  let api: TestApp;
  let other: Runtime | undefined;

  const startWorkerProcess = async () => {
    const worker = runEntry('src/worker.ts', childEnv(api.store, env));
    children.push(worker);
    await worker.waitForOutput(/worker ready/);
    return worker;
  };
  /** Another worker, in this process: what `npm run worker` opens. */
  const startOtherWorker = async () => {
    other = await openRuntime(testConfig(api.store, env), undefined, { runJobs: true, runWebhookDispatcher: false });
  };
  /** Uploads the file and waits until the write holding row `heldRow` waits on it, after `committedRows` were committed. */
  const startHeldImport = async (skuPrefix: string, heldRow: number, committedRows: number) => {
    const hold = await holdSku(api.store, `${skuPrefix}-${heldRow}`);
    holds.push(hold);
    const accepted = (await uploadRaw(api.app, catalog(ROWS, { skuPrefix }))).json() as JobJson;
    await waitUntilHeld(api.store, accepted.id, hold, committedRows);
    return { hold, jobId: accepted.id };
  };
  const expectExactlyImported = async (jobId: string, skuPrefix: string) => {
    const done = await waitForJob(api.app, jobId, undefined, 60_000);
    expect(done, String(done.error)).toMatchObject({ status: 'completed', rows_processed: ROWS, inserted: ROWS, updated: 0, unchanged: 0, invalid: 0 });
    expect(await productCount(api.store, skuPrefix)).toBe(ROWS);
  };

  /** The BullMQ queue the workers share, to read a job's stalled counter. */
  let queue: Queue;
  beforeAll(async () => {
    api = await startTestApp('postgres', env);
    queue = new Queue('jobs', { connection: { url: REDIS_URL }, prefix });
  });
  afterAll(async () => {
    await Promise.all(holds.map((hold) => hold.release()));
    await killAll(children);
    await other?.close();
    await queue?.close();
    await api?.close();
    await dropRedisPrefix(REDIS_URL, prefix);
  });

  it('SIGTERM: the worker ends the write in hand, hands the job back and exits 0; another worker finishes it exactly', { timeout: 180_000 }, async () => {
    const worker = await startWorkerProcess();
    const { hold, jobId } = await startHeldImport('TERM', 4000, 0);

    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    await worker.waitForOutput(/SIGTERM received/);
    await startOtherWorker();
    await hold.release(); // the write in hand can now commit; the worker stops after it

    expect(await worker.exited, worker.output()).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(WORKER_SHUTDOWN_LIMIT_MS);
    await expectExactlyImported(jobId, 'TERM');
    expect(await jobAttempts(api.store, jobId)).toBe(2); // the stopped worker's run, then the other's from its checkpoint

    // The next case's worker must be the only one when its job is queued.
    await other?.close();
    other = undefined;
  });

  it(`SIGKILL: another worker takes the job over within 1.5 × JOB_LOCK_TIMEOUT_MS (${TAKEOVER_MS} ms) and finishes it exactly`, { timeout: 180_000 }, async () => {
    const worker = await startWorkerProcess();
    const { hold, jobId } = await startHeldImport('KILL', 24000, 20_000);
    await startOtherWorker();

    const killedAt = Date.now();
    worker.child.kill('SIGKILL');
    await worker.exited;
    await hold.release(); // the killed worker's transaction is rolled back by PostgreSQL
    // BullMQ's stalled-job recovery hands the job back (its stalled counter goes up), then the other worker claims it.
    await waitUntil(async () => ((await queue.getJob(jobId))?.stalledCounter ?? 0) > 0, TAKEOVER_MS + 10_000, () => 'the stalled job to be handed back');
    const takeoverMs = Date.now() - killedAt;
    // Up to TAKEOVER_MS by design; what is above it is this check's polling and a loaded machine.
    expect(takeoverMs).toBeLessThan(TAKEOVER_MS + 1500);
    await waitUntil(async () => (await jobAttempts(api.store, jobId)) === 2, 30_000, () => 'the other worker to claim the job');
    await expectExactlyImported(jobId, 'KILL');
  });
});
