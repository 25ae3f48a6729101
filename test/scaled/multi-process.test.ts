import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, dataEvents, openSse, type JobJson } from '../jobs/job-helpers.js';
import { freePort } from '../support/ports.js';
import { postgresAvailable, REDIS_URL, redisAvailable } from '../support/services.js';
import { createTestStore, type TestStore } from '../support/test-app.js';
import { startReceiver, verifySignature, waitUntil, WEBHOOK_TEST_ENV, type Receiver } from '../webhooks/webhook-support.js';
import { childEnv, dropRedisPrefix, killAll, readNumber, runEntry, waitForHealth, type ChildEntry } from './scaled-support.js';

// Scaled mode as deployed, on loopback: two API processes and two worker processes (our
// real entry points) on the shared PostgreSQL and Redis. Three imports and a bulk delete
// are submitted at once through both API nodes, and each job's progress is followed on
// the node that did not receive it.
const available = (await postgresAvailable()) && (await redisAvailable());

const ROWS = 3000;
const SEED_ROWS = 1000;

describe.skipIf(!available)('two API nodes and two workers (real processes, PostgreSQL + Redis)', () => {
  const prefix = `pi-test-${randomBytes(5).toString('hex')}`;
  const children: ChildEntry[] = [];
  let store: TestStore;
  let receiver: Receiver;
  let apiUrls: string[];

  beforeAll(async () => {
    store = await createTestStore('postgres');
    receiver = await startReceiver();
    const env = { ...WEBHOOK_TEST_ENV, REDIS_URL, REDIS_PREFIX: prefix, HOST: '127.0.0.1' };
    // Every process delivers webhooks (the default): a delivery must still be made once.
    const ports = [await freePort(), await freePort()];
    for (const port of ports) children.push(runEntry('src/server.ts', childEnv(store, { ...env, PORT: String(port) })));
    for (let index = 0; index < 2; index++) children.push(runEntry('src/worker.ts', childEnv(store, env)));
    await Promise.all([...ports.map((port) => waitForHealth(port, 60_000)), ...children.slice(2).map((worker) => worker.waitForOutput(/worker ready/, 60_000))]);
    apiUrls = ports.map((port) => `http://127.0.0.1:${port}`);
  }, 90_000);
  afterAll(async () => {
    await killAll(children);
    await store?.drop();
    await receiver?.close();
    await dropRedisPrefix(REDIS_URL, prefix);
  });

  const post = async (node: number, path: string, body: string, contentType: string): Promise<JobJson> => {
    const response = await fetch(`${apiUrls[node]}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
    expect(response.status, await response.clone().text()).toBe(path.startsWith('/api/webhooks') ? 201 : 202);
    return (await response.json()) as JobJson;
  };
  const upload = (node: number, skuPrefix: string, rows: number) => post(node, `/api/upload?filename=${skuPrefix}.csv`, catalog(rows, { skuPrefix }), 'text/csv');
  /** The job's SSE stream on the other node, to its end; its last event. */
  const followOnOtherNode = async (receivedBy: number, job: JobJson) => {
    const stream = await openSse(apiUrls[1 - receivedBy]!, `/api/progress/${job.id}`);
    expect(stream.status).toBe(200);
    return dataEvents(await stream.ended).at(-1);
  };

  it('runs three imports and a bulk delete submitted at once; every stream, count and webhook is exact', { timeout: 120_000 }, async () => {
    const webhook = (await post(0, '/api/webhooks', JSON.stringify({ url: receiver.url, events: ['import.completed', 'products.bulk_deleted'] }), 'application/json')) as unknown as {
      secret: string;
    };
    const seed = await upload(1, 'SEED', SEED_ROWS);
    expect(await followOnOtherNode(1, seed)).toMatchObject({ event: 'completed', job: { inserted: SEED_ROWS } });

    const submitted = await Promise.all([
      upload(0, 'ALPHA', ROWS).then((job) => ({ node: 0, job })),
      upload(1, 'BRAVO', ROWS).then((job) => ({ node: 1, job })),
      upload(0, 'CHARLIE', ROWS).then((job) => ({ node: 0, job })),
      post(1, '/api/products/bulk-delete', JSON.stringify({ confirm: true }), 'application/json').then((job) => ({ node: 1, job })),
    ]);
    const ends = await Promise.all(submitted.map(({ node, job }) => followOnOtherNode(node, job)));
    for (const end of ends.slice(0, 3)) {
      expect(end).toMatchObject({ event: 'completed', job: { status: 'completed', rows_processed: ROWS, inserted: ROWS, updated: 0, unchanged: 0, invalid: 0 } });
    }
    const bulkDelete = ends[3]!;
    expect(bulkDelete).toMatchObject({ event: 'completed', job: { status: 'completed' } });

    // Whatever order the workers ran them in: what the bulk delete removed and what is left add up to all that was imported.
    const deleted = Number(bulkDelete.job.rows_processed);
    const left = await readNumber(store, 'select count(*) as value from products');
    expect(deleted).toBeGreaterThanOrEqual(SEED_ROWS);
    expect(left + deleted).toBe(SEED_ROWS + 3 * ROWS);
    expect(await readNumber(store, `select count(*) as value from products where sku_key !~ '^(seed|alpha|bravo|charlie)-[0-9]+$'`)).toBe(0);
    for (const url of apiUrls) {
      const list = (await (await fetch(`${url}/api/products?page_size=1`)).json()) as { total: number };
      expect(list.total).toBe(left);
    }

    // One delivery per job, each succeeding once at the receiver, though four processes deliver webhooks.
    const jobIds = [seed, ...submitted.map(({ job }) => job)].map((job) => job.id);
    await receiver.waitForRequests(jobIds.length, 30_000);
    await waitUntil(
      async () => (await readNumber(store, `select count(*) as value from webhook_deliveries where status = 'succeeded'`)) === jobIds.length,
      15_000,
      () => 'every delivery to be recorded as succeeded',
    );
    const events = receiver.requests.map((request) => verifySignature(request, webhook.secret) as { id: string; data: { job_id: string } });
    expect(events.map((event) => event.data.job_id).sort()).toEqual([...jobIds].sort());
    expect(new Set(events.map((event) => event.id)).size).toBe(jobIds.length);
    expect(await readNumber(store, 'select count(*) as value from webhook_deliveries')).toBe(jobIds.length);
  });
});
