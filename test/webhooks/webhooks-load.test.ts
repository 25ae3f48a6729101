import { Pool } from 'undici';
import { expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { createWebhook, startReceiver, startWebhookApp } from './webhook-support.js';

// Correctness under load only: the API latency with a slow receiver (p99 against the
// reference without webhooks) is measured by `npm run bench:webhooks`.

const UPDATES = 1_000;
const CLIENTS = 4;

/** PATCHes the products UPDATES times over real HTTP, CLIENTS at a time; every answer must be 200. */
async function updateAll(pool: Pool, productIds: number[]): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < UPDATES) {
      const index = next++;
      const response = await pool.request({
        method: 'PATCH',
        path: `/api/products/${productIds[index % productIds.length]}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Update ${index}` }),
      });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`update answered ${response.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

describeEachDialect('webhook load on %s', (dialect) => {
  it(`${UPDATES} product updates with a receiver taking 2 s each: every update answers, every delivery arrives once`, async () => {
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
      await createWebhook(t.app, { url: receiver.url, events: ['product.updated'] });
      await updateAll(pool, productIds);

      await receiver.waitForRequests(UPDATES, 90_000);
      // Every dispatcher stopped (close waits for its sends): no request can still come.
      await t.stop();
      expect(receiver.requests).toHaveLength(UPDATES);
      expect(new Set(receiver.requests.map((request) => request.headers['webhook-id'])).size).toBe(UPDATES);
    } finally {
      await pool.close();
      await t.close();
      await receiver.close();
    }
  }, 150_000);
});
