import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import {
  closedPort,
  createProduct,
  createWebhook,
  deliveriesOf,
  startReceiver,
  startSentinel,
  startWebhookApp,
  verifySignature,
  waitUntil,
  type Receiver,
  type WebhookTestApp,
} from './webhook-support.js';

describeEachDialect('webhook delivery on %s', (dialect) => {
  let t: WebhookTestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await startWebhookApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(async () => {
    await receiver?.close();
    // Each test starts with no webhooks, so earlier ones receive nothing more.
    const list = await t.app.inject({ method: 'GET', url: '/api/webhooks' });
    for (const webhook of list.json() as { id: number }[]) await t.app.inject({ method: 'DELETE', url: `/api/webhooks/${webhook.id}` });
  });

  const waitForDelivery = (webhookId: number, predicate: (d: Awaited<ReturnType<typeof deliveriesOf>>) => boolean) =>
    waitUntil(async () => predicate(await deliveriesOf(t.app, webhookId)), 15_000, () => 'deliveries');

  it('delivers product events signed per Standard Webhooks, with the product as data', async () => {
    receiver = await startReceiver();
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created', 'product.updated', 'product.deleted'] });
    const product = await createProduct(t.app, 'SIG-1');
    await t.app.inject({ method: 'PATCH', url: `/api/products/${product.id}`, payload: { name: 'Renamed' } });
    await t.app.inject({ method: 'DELETE', url: `/api/products/${product.id}` });
    const requests = await receiver.waitForRequests(3);

    const bodies = requests.map((request) => verifySignature(request, webhook.secret));
    expect(bodies.map((body) => body.type).sort()).toEqual(['product.created', 'product.deleted', 'product.updated']);
    const created = bodies.find((body) => body.type === 'product.created');
    expect(created?.id).toMatch(/^evt_/);
    expect(created?.data).toMatchObject({ id: product.id, sku: 'SIG-1', name: 'Product SIG-1', price: '1.50' });
    expect(new Date(created?.timestamp as string).toISOString()).toBe(created?.timestamp);
    for (const request of requests) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toMatch(/^ProductImporter\/\d/);
      expect(request.headers['webhook-id']).toBe(JSON.parse(request.body).id);
      expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    // Another secret does not verify.
    expect(() => verifySignature(requests[0]!, `whsec_${Buffer.alloc(32, 7).toString('base64')}`)).toThrow();

    await waitForDelivery(webhook.id, (list) => list.length === 3 && list.every((d) => d.status === 'succeeded'));
    const [latest] = await deliveriesOf(t.app, webhook.id);
    expect(latest).toMatchObject({ attempt: 1, status: 'succeeded', response_status: 200, response_body: 'ok', error: null, next_attempt_at: null });
    expect(latest?.response_time_ms).toBeGreaterThanOrEqual(0);
    const read = (await t.app.inject({ method: 'GET', url: `/api/webhooks/${webhook.id}` })).json();
    expect(read.last_delivery).toMatchObject({ status: 'succeeded', response_status: 200 });
  });

  it('sends only the subscribed event types, and nothing for a rolled-back change', async () => {
    receiver = await startReceiver();
    const webhook = await createWebhook(t.app, { url: receiver.url, event_type: 'product.deleted' });
    const product = await createProduct(t.app, 'ONLY-DEL');
    const other = await createProduct(t.app, 'ONLY-DEL-2');
    const clash = await t.app.inject({ method: 'PATCH', url: `/api/products/${product.id}`, payload: { sku: 'only-del-2' } });
    expect(clash.statusCode).toBe(409);
    await t.app.inject({ method: 'DELETE', url: `/api/products/${product.id}` });
    const [request] = await receiver.waitForRequests(1);
    expect(JSON.parse(request!.body)).toMatchObject({ type: 'product.deleted', data: { sku: 'ONLY-DEL' } });
    // A subscribed event committed last: once it is delivered, any delivery of the earlier events exists.
    await t.app.inject({ method: 'DELETE', url: `/api/products/${other.id}` });
    await receiver.waitForRequests(2);
    expect(receiver.requests.map((received) => JSON.parse(received.body).data.sku)).toEqual(['ONLY-DEL', 'ONLY-DEL-2']);
    expect(await deliveriesOf(t.app, webhook.id)).toHaveLength(2);
  });

  it('retries a 500 with backoff, then succeeds, with the same webhook-id', async () => {
    receiver = await startReceiver((_request, index) => (index < 2 ? { status: 500, body: 'boom' } : {}));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    await createProduct(t.app, 'RETRY-1');
    const requests = await receiver.waitForRequests(3);
    expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(30); // base 50 ms, -20% jitter
    for (const request of requests) verifySignature(request, webhook.secret);

    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'succeeded');
    const list = await deliveriesOf(t.app, webhook.id);
    expect(list.map((d) => [d.attempt, d.status, d.response_status])).toEqual([
      [3, 'succeeded', 200],
      [2, 'retrying', 500],
      [1, 'retrying', 500],
    ]);
    expect(list[2]).toMatchObject({ response_body: 'boom', error: 'HTTP 500' });
    expect(Date.parse(list[2]!.next_attempt_at as string)).toBeGreaterThan(Date.parse(list[2]!.attempted_at as string));
    expect(new Set(list.map((d) => d.event_id)).size).toBe(1);
  });

  it('honours Retry-After on 429', async () => {
    receiver = await startReceiver((_request, index) => (index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : {}));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    await createProduct(t.app, 'RETRY-AFTER');
    const requests = await receiver.waitForRequests(2);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(950);
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'succeeded');
  });

  it('stops after WEBHOOK_MAX_ATTEMPTS when the receiver is down, logging each network error', async () => {
    const port = await closedPort();
    const webhook = await createWebhook(t.app, { url: `http://127.0.0.1:${port}/down`, events: ['product.created'] });
    await createProduct(t.app, 'DOWN-1');
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'failed');
    const list = await deliveriesOf(t.app, webhook.id);
    expect(list.map((d) => [d.attempt, d.status])).toEqual([
      [3, 'failed'],
      [2, 'retrying'],
      [1, 'retrying'],
    ]);
    for (const delivery of list) {
      expect(delivery.response_status).toBeNull();
      expect(delivery.error).toMatch(/ECONNREFUSED|connect/i);
    }
    expect(list[0]?.next_attempt_at).toBeNull();
  });

  it('times out a receiver slower than WEBHOOK_TIMEOUT_MS and retries', async () => {
    receiver = await startReceiver((_request, index) => (index === 0 ? { delayMs: 3_000 } : {}));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    await createProduct(t.app, 'SLOW-1');
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'succeeded');
    const list = await deliveriesOf(t.app, webhook.id);
    expect(list[1]).toMatchObject({ attempt: 1, status: 'retrying', response_status: null, error: 'Timed out after 1000 ms' });
    expect(list[1]?.response_time_ms).toBeGreaterThanOrEqual(900);
    expect(list[1]?.response_time_ms).toBeLessThan(2_500);
  });

  it('treats a redirect as a failure and does not follow it', async () => {
    const target = await startReceiver();
    receiver = await startReceiver(() => ({ status: 302, headers: { location: target.url } }));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    await createProduct(t.app, 'REDIRECT-1');
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'failed');
    expect(target.requests).toHaveLength(0);
    expect((await deliveriesOf(t.app, webhook.id))[0]).toMatchObject({ response_status: 302, error: 'HTTP 302: redirects are not followed' });
    await target.close();
  });

  it('disables the webhook on 410 Gone, shows why, and sends it nothing more', async () => {
    receiver = await startReceiver(() => ({ status: 410 }));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    await createProduct(t.app, 'GONE-1');
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'failed');
    const read = (await t.app.inject({ method: 'GET', url: `/api/webhooks/${webhook.id}` })).json();
    expect(read.enabled).toBe(false);
    expect(read.disabled_reason).toMatch(/410 Gone/);
    expect(read.disabled_at).not.toBeNull();
    expect(read.last_delivery).toMatchObject({ status: 'failed', response_status: 410 });

    const sentinel = await startSentinel(t.app);
    await createProduct(t.app, 'GONE-2');
    await sentinel.received('GONE-2');
    await sentinel.close();
    expect(await deliveriesOf(t.app, webhook.id)).toHaveLength(1);
    expect(receiver.requests).toHaveLength(1);

    // Enabling again clears the reason.
    const enabled = await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${webhook.id}`, payload: { enabled: true } });
    expect(enabled.json()).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });
  });

  it('sends nothing to a disabled webhook, and drops its pending deliveries when disabled', async () => {
    receiver = await startReceiver((_request, index) => (index === 0 ? { status: 503, headers: { 'retry-after': '1' } } : {}));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    const parked = await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${webhook.id}`, payload: { enabled: false } });
    expect(parked.json()).toMatchObject({ enabled: false, disabled_reason: 'Disabled through the API.' });
    const sentinel = await startSentinel(t.app);
    await createProduct(t.app, 'OFF-1');
    await sentinel.received('OFF-1');
    expect(await deliveriesOf(t.app, webhook.id)).toHaveLength(0);
    expect(receiver.requests).toHaveLength(0);

    // Enabled again: the next event goes; its retry (due in 1 s) is dropped when the webhook is disabled.
    await t.app.inject({ method: 'PUT', url: `/api/webhooks/${webhook.id}`, payload: { enabled: true } });
    await createProduct(t.app, 'OFF-2');
    await receiver.waitForRequests(1);
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'pending' && list[1]?.status === 'retrying');
    await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${webhook.id}`, payload: { enabled: false } });
    const [dropped] = await deliveriesOf(t.app, webhook.id);
    expect(dropped).toMatchObject({ attempt: 2, status: 'failed', error: 'Not sent: the webhook was disabled', next_attempt_at: null });
    // The sentinel's retry is due after the dropped one would have been (same Retry-After, later
    // start); deliveries are claimed by due time, so once it went, the dropped one would have too.
    const aboutOff3 = (request: { body: string }) => JSON.parse(request.body).data.sku === 'OFF-3';
    sentinel.receiver.respond = (request) => (aboutOff3(request) && sentinel.receiver.requests.filter(aboutOff3).length === 1 ? { status: 503, headers: { 'retry-after': '1' } } : {});
    await createProduct(t.app, 'OFF-3');
    await waitUntil(() => sentinel.receiver.requests.filter(aboutOff3).length === 2, 15_000, () => 'the retry of the sentinel');
    await sentinel.close();
    expect(receiver.requests).toHaveLength(1);
  });

  it('redelivers an event with the same webhook-id (202), and refuses for a disabled webhook (409)', async () => {
    receiver = await startReceiver();
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    await createProduct(t.app, 'REDELIVER-1');
    await receiver.waitForRequests(1);
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'succeeded');
    const [first] = await deliveriesOf(t.app, webhook.id);

    const response = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/deliveries/${first!.id}/redeliver` });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ event_id: first!.event_id, attempt: 1, status: 'pending' });
    const requests = await receiver.waitForRequests(2);
    expect(requests[1]!.headers['webhook-id']).toBe(requests[0]!.headers['webhook-id']);
    expect(requests[1]!.body).toBe(requests[0]!.body);
    verifySignature(requests[1]!, webhook.secret);

    const missing = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/deliveries/999999/redeliver` });
    expect(missing.statusCode).toBe(404);
    const otherWebhook = await t.app.inject({ method: 'POST', url: `/api/webhooks/999999/deliveries/${first!.id}/redeliver` });
    expect(otherWebhook.statusCode).toBe(404);
    await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${webhook.id}`, payload: { enabled: false } });
    const disabled = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/deliveries/${first!.id}/redeliver` });
    expect(disabled.statusCode).toBe(409);
  });

  it('signs with the new secret only after rotate-secret', async () => {
    receiver = await startReceiver();
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    const rotated = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/rotate-secret` });
    expect(rotated.statusCode).toBe(200);
    const { secret } = rotated.json();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secret).not.toBe(webhook.secret);
    await createProduct(t.app, 'ROTATE-1');
    const [request] = await receiver.waitForRequests(1);
    expect(verifySignature(request!, secret).type).toBe('product.created');
    expect(() => verifySignature(request!, webhook.secret)).toThrow();
  });

  it('test call: sends webhook.test now and reports the answer; failures are 200 with success false', async () => {
    receiver = await startReceiver((request) => (JSON.parse(request.body).data.fail ? { status: 500, body: 'nope' } : {}));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });

    const ok = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test`, payload: { data: { hello: 'world' } } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ success: true, status_code: 200, error: null });
    expect(ok.json().response_time_ms).toBeGreaterThanOrEqual(0);
    const body = verifySignature(receiver.requests[0]!, webhook.secret);
    expect(body).toMatchObject({ type: 'webhook.test', data: { hello: 'world' } });

    const noBody = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test` });
    expect(noBody.json()).toMatchObject({ success: true });

    const failing = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test`, payload: { data: { fail: true } } });
    expect(failing.statusCode).toBe(200);
    expect(failing.json()).toMatchObject({ success: false, status_code: 500, error: 'HTTP 500' });

    // Logged as deliveries, final (nothing left to retry), and never fanned out as events: an
    // event committed after them is the next thing the receiver gets.
    await createProduct(t.app, 'AFTER-TESTS');
    await receiver.waitForRequests(4);
    expect(receiver.requests.map((received) => JSON.parse(received.body).type)).toEqual(['webhook.test', 'webhook.test', 'webhook.test', 'product.created']);
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'succeeded');
    const list = await deliveriesOf(t.app, webhook.id);
    expect(list.map((d) => [d.event_type, d.status, d.next_attempt_at])).toEqual([
      ['product.created', 'succeeded', null],
      ['webhook.test', 'failed', null],
      ['webhook.test', 'succeeded', null],
      ['webhook.test', 'succeeded', null],
    ]);

    const port = await closedPort();
    await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${webhook.id}`, payload: { url: `http://127.0.0.1:${port}/` } });
    const down = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test` });
    expect(down.statusCode).toBe(200);
    expect(down.json()).toMatchObject({ success: false, status_code: null });
    expect(down.json().error).toMatch(/ECONNREFUSED|connect/i);

    const missing = await t.app.inject({ method: 'POST', url: '/api/webhooks/999999/test' });
    expect(missing.statusCode).toBe(404);
  });

  it('disables a webhook whose deliveries have all failed for 5 days', async () => {
    receiver = await startReceiver(() => ({ status: 500 }));
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    const sixDaysAgo = new Date(Date.now() - 6 * 86_400_000).toISOString();
    await t.runtime.database.db.updateTable('webhooks').set({ failing_since: sixDaysAgo }).where('id', '=', webhook.id).execute();
    await createProduct(t.app, 'FIVE-DAYS');
    await waitUntil(async () => (await t.app.inject({ method: 'GET', url: `/api/webhooks/${webhook.id}` })).json().enabled === false);
    const read = (await t.app.inject({ method: 'GET', url: `/api/webhooks/${webhook.id}` })).json();
    expect(read.disabled_reason).toMatch(/failed for 5 days/);
    expect(receiver.requests).toHaveLength(1);
    const list = await deliveriesOf(t.app, webhook.id);
    expect(list.every((d) => d.status !== 'pending')).toBe(true);
  });

  it('a success ends the failing run', async () => {
    receiver = await startReceiver();
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    const sixDaysAgo = new Date(Date.now() - 6 * 86_400_000).toISOString();
    await t.runtime.database.db.updateTable('webhooks').set({ failing_since: sixDaysAgo }).where('id', '=', webhook.id).execute();
    await createProduct(t.app, 'RECOVERS');
    await waitForDelivery(webhook.id, (list) => list[0]?.status === 'succeeded');
    const row = await t.runtime.database.db.selectFrom('webhooks').select(['enabled', 'failing_since']).where('id', '=', webhook.id).executeTakeFirst();
    expect(row).toEqual({ enabled: 1, failing_since: null });
  });
});
