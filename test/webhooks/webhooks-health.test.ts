import { afterAll, beforeAll, expect, it } from 'vitest';
import { RECENT_DELIVERIES, type Webhook } from '../../src/webhooks/webhooks.schemas.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { createWebhook, deliveriesOf, startReceiver, startWebhookApp, type Receiver, type WebhookTestApp } from './webhook-support.js';

// What the web UI's webhook list and delivery log read: each webhook's recent attempts (its
// health strip) and each delivery's request body. The dispatcher is off, so the only
// attempts are the synchronous test calls and a redelivery stays pending.

describeEachDialect('webhook health and request bodies on %s', (dialect) => {
  let t: WebhookTestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await startWebhookApp(dialect, { runWebhookDispatcher: false });
    // Every third request fails with 500.
    receiver = await startReceiver((_request, index) => (index % 3 === 2 ? { status: 500, body: 'boom' } : { status: 200 }));
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  const testCall = (id: number) => t.app.inject({ method: 'POST', url: `/api/webhooks/${id}/test` });
  const list = async () => (await t.app.inject({ method: 'GET', url: '/api/webhooks' })).json() as Webhook[];

  it('lists the last attempts of each webhook, newest first, at most RECENT_DELIVERIES, without pending ones', async () => {
    const busy = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    const quiet = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    expect((await list()).find((webhook) => webhook.id === quiet.id)?.recent_deliveries).toEqual([]);

    const calls = RECENT_DELIVERIES + 3;
    const outcomes: number[] = [];
    for (let call = 0; call < calls; call += 1) outcomes.push((await testCall(busy.id)).json().status_code);
    await testCall(quiet.id);
    const [latest] = await deliveriesOf(t.app, busy.id);
    // A redelivery is pending until a dispatcher sends it: not an attempt yet.
    expect((await t.app.inject({ method: 'POST', url: `/api/webhooks/${busy.id}/deliveries/${latest?.id}/redeliver` })).statusCode).toBe(202);

    const webhooks = await list();
    const busyRecent = webhooks.find((webhook) => webhook.id === busy.id)?.recent_deliveries ?? [];
    const expected = outcomes.slice(-RECENT_DELIVERIES).reverse();
    expect(busyRecent.map((attempt) => attempt.response_status)).toEqual(expected);
    expect(busyRecent.map((attempt) => attempt.status)).toEqual(expected.map((code) => (code === 200 ? 'succeeded' : 'failed')));
    expect(expected).toContain(500);
    const times = busyRecent.map((attempt) => Date.parse(attempt.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(webhooks.find((webhook) => webhook.id === quiet.id)?.recent_deliveries).toHaveLength(1);

    // The single read and an update answer the same strip; an update may echo it back.
    const read = (await t.app.inject({ method: 'GET', url: `/api/webhooks/${busy.id}` })).json() as Webhook;
    expect(read.recent_deliveries).toEqual(busyRecent);
    const updated = await t.app.inject({ method: 'PUT', url: `/api/webhooks/${busy.id}`, payload: { ...read, description: 'edited' } });
    expect(updated.statusCode).toBe(200);
    expect(updated.json().recent_deliveries).toEqual(busyRecent);
  });

  it('shows each delivery’s request body exactly as the receiver got it, also for a redelivery', async () => {
    const webhook = await createWebhook(t.app, { url: receiver.url, events: ['product.created'] });
    const before = receiver.requests.length;
    await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test`, payload: { data: { note: 'é ✓', n: 1 } } });
    const sent = receiver.requests[before];
    const [delivery] = await deliveriesOf(t.app, webhook.id);
    expect(sent?.body).toContain('"note":"é ✓"');
    expect(delivery?.request_body).toBe(sent?.body);

    const redelivered = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/deliveries/${delivery?.id}/redeliver` });
    expect(redelivered.statusCode).toBe(202);
    expect(redelivered.json()).toMatchObject({ status: 'pending', request_body: sent?.body });
  });
});
