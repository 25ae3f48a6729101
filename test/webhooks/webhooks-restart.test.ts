import { expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { createTestStore } from '../support/test-app.js';
import { createProduct, createWebhook, deliveriesOf, startReceiver, startWebhookApp, verifySignature, waitUntil } from './webhook-support.js';

describeEachDialect('webhook delivery across restarts and processes on %s', (dialect) => {
  it('continues pending and retrying deliveries after a restart, with the same webhook-id', async () => {
    // 1st request: 503 (retried); 2nd: hangs, in flight when the process stops; then 200.
    const receiver = await startReceiver((_request, index) => (index === 0 ? { status: 503 } : index === 1 ? { delayMs: 30_000 } : {}));
    const env = { WEBHOOK_BACKOFF_BASE_MS: '300', WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_MAX_ATTEMPTS: '5' };
    const first = await startWebhookApp(dialect, { env });
    const second = await (async () => {
      try {
        const webhook = await createWebhook(first.app, { url: receiver.url, events: ['product.created'] });
        await createProduct(first.app, 'RESTART-1');
        await receiver.waitForRequests(2);
        // Events committed while no dispatcher runs are delivered after the restart too.
        const quiet = await startWebhookApp(dialect, { env, store: first.store, runWebhookDispatcher: false });
        await first.stop();
        await createProduct(quiet.app, 'RESTART-2');
        await quiet.stop();
        const next = await startWebhookApp(dialect, { env, store: first.store });
        return { next, webhook };
      } catch (error) {
        await first.close();
        throw error;
      }
    })();
    const { next, webhook } = second;
    try {
      const requests = await receiver.waitForRequests(4);
      const bodies = requests.map((request) => verifySignature(request, webhook.secret));
      const skuOf = (index: number) => (bodies[index]!.data as { sku: string }).sku;
      const restart1Ids = requests.filter((_request, index) => skuOf(index) === 'RESTART-1').map((request) => request.headers['webhook-id']);
      expect(restart1Ids).toHaveLength(3);
      expect(new Set(restart1Ids).size).toBe(1);
      expect(requests.filter((_request, index) => skuOf(index) === 'RESTART-2')).toHaveLength(1);

      await waitUntil(async () => (await deliveriesOf(next.app, webhook.id)).filter((d) => d.status === 'succeeded').length === 2);
      const list = await deliveriesOf(next.app, webhook.id);
      // The attempt cut short by the stop is not logged: it was given back and made again.
      expect(list.filter((d) => d.status === 'retrying')).toHaveLength(1);
      expect(list.filter((d) => d.status === 'pending')).toHaveLength(0);
      // An event committed last: deliveries go by due time, so a repeat would come before it.
      await createProduct(next.app, 'RESTART-3');
      await receiver.waitForRequests(5);
      expect(receiver.requests.map((request) => (verifySignature(request, webhook.secret).data as { sku: string }).sku).slice(4)).toEqual(['RESTART-3']);
    } finally {
      await next.close();
      await receiver.close();
    }
  });

  it('several dispatchers on one database deliver each event once', async () => {
    const receiver = await startReceiver(() => ({ delayMs: 20 }));
    const store = await createTestStore(dialect);
    const env = { WEBHOOK_CONCURRENCY_PER_ENDPOINT: '4' };
    const api = await startWebhookApp(dialect, { store, env });
    // Other processes: dispatchers only, on the same store (SQLite: same file; PostgreSQL: same schema).
    const others = [await startWebhookApp(dialect, { store, env }), await startWebhookApp(dialect, { store, env })];
    try {
      const webhook = await createWebhook(api.app, { url: receiver.url, events: ['product.created'] });
      const count = 150;
      for (let index = 0; index < count; index++) {
        const sku = `MULTI-${index}`;
        // Half through the API process (notified), half through the others (their polls and wakes).
        const app = index % 2 === 0 ? api.app : others[index % 4 === 1 ? 0 : 1]!.app;
        await createProduct(app, sku);
      }
      await receiver.waitForRequests(count, 60_000);
      // Every delivery recorded once, then every dispatcher stopped (close waits for its sends):
      // after that, no request can still come.
      await waitUntil(async () => (await deliveriesOf(api.app, webhook.id)).filter((d) => d.status === 'succeeded').length === count, 15_000, () => 'all deliveries recorded');
      expect((await deliveriesOf(api.app, webhook.id)).every((d) => d.attempt === 1)).toBe(true);
      for (const other of others) await other.stop();
      await api.stop();
      expect(receiver.requests).toHaveLength(count);
      expect(new Set(receiver.requests.map((request) => request.headers['webhook-id'])).size).toBe(count);
    } finally {
      for (const other of others) await other.stop();
      await api.close();
      await receiver.close();
    }
  });
});
