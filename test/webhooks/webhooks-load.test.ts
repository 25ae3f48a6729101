import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { testDialects } from '../support/test-app.js';
import { createWebhook, startReceiver, startWebhookApp, waitUntil } from './webhook-support.js';

const dialects = await testDialects();

const UPDATES = 1_000;
const CLIENTS = 4;
/** The API's p99 with a slow receiver subscribed may be at most this many times the p99 without. */
const P99_FACTOR = 5;

/** PATCHes product `id` UPDATES times over real HTTP, CLIENTS at a time; returns the p99 latency in ms. */
async function updateP99(pool: Pool, productIds: number[], round: string): Promise<number> {
  const latencies: number[] = [];
  let next = 0;
  const client = async () => {
    while (next < UPDATES) {
      const index = next++;
      const id = productIds[index % productIds.length];
      const started = performance.now();
      const response = await pool.request({
        method: 'PATCH',
        path: `/api/products/${id}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `${round} ${index}` }),
      });
      await response.body.text();
      latencies.push(performance.now() - started);
      if (response.statusCode !== 200) throw new Error(`update answered ${response.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  latencies.sort((a, b) => a - b);
  return latencies[Math.ceil(latencies.length * 0.99) - 1] as number;
}

describe.each(dialects)('webhook load on %s', (dialect) => {
  it(`${UPDATES} product updates with a receiver taking 2 s each: every delivery arrives, and the API p99 stays put`, async () => {
    const receiver = await startReceiver(() => ({ delayMs: 2_000 }));
    // 1,000 × 2 s / 100 per endpoint ≈ 20 s of delivery.
    const t = await startWebhookApp(dialect, {
      env: { WEBHOOK_CONCURRENCY_PER_ENDPOINT: '100', WEBHOOK_CONCURRENCY: '200', WEBHOOK_TIMEOUT_MS: '10000' },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CLIENTS });
    try {
      const productIds: number[] = [];
      for (let index = 0; index < 50; index++) {
        const response = await pool.request({
          method: 'POST',
          path: '/api/products',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sku: `LOAD-${index}`, name: 'x' }),
        });
        productIds.push(((await response.body.json()) as { id: number }).id);
      }
      await updateP99(pool, productIds, 'warm-up');
      const without = await updateP99(pool, productIds, 'without');
      // Every event so far is fanned out (to no one) before the webhook exists.
      const db = t.runtime.database.db;
      await waitUntil(async () => (await db.selectFrom('outbox_events').select('id').where('dispatched_at', 'is', null).execute()).length === 0);

      await createWebhook(t.app, { url: receiver.url, events: ['product.updated'] });
      const withWebhooks = await updateP99(pool, productIds, 'with');
      console.log(`${dialect}: API p99 without webhooks ${without.toFixed(1)} ms, with a slow receiver ${withWebhooks.toFixed(1)} ms`);

      await receiver.waitForRequests(UPDATES, 90_000);
      expect(new Set(receiver.requests.map((request) => request.headers['webhook-id'])).size).toBe(UPDATES);
      // A generous factor (2 shared cores); a dispatcher that blocked the event loop would blow through it.
      expect(withWebhooks).toBeLessThanOrEqual(without * P99_FACTOR);
    } finally {
      await pool.close();
      await t.close();
      await receiver.close();
    }
  }, 150_000);
});
