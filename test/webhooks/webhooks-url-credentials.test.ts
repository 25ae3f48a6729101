import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { closedPort, createProduct, deliveriesOf, startReceiver, startWebhookApp, waitUntil, type Receiver, type WebhookTestApp } from './webhook-support.js';

// Finding 10 (part): credentials in a webhook URL are shown masked in every answer, kept
// when the masked URL is sent back, and appear in no delivery log entry.

const PASSWORD = 'pa55-Wörd-s3cret';

describeEachDialect('user:pass@ in webhook URLs (%s)', (dialect) => {
  let t: WebhookTestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await startWebhookApp(dialect);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const storedUrl = async (id: number) =>
    (await t.runtime.database.db.selectFrom('webhooks').select('url').where('id', '=', id).executeTakeFirstOrThrow()).url;

  it('masks them in create, read, list and update answers, and keeps them when the masked URL comes back', async () => {
    const url = `http://alice:${encodeURIComponent(PASSWORD)}@127.0.0.1:${receiver.port}/hook`;
    const created = await t.app.inject({ method: 'POST', url: '/api/webhooks', payload: { url, events: ['product.created'] } });
    expect(created.statusCode).toBe(201);
    const masked = `http://****:****@127.0.0.1:${receiver.port}/hook`;
    expect(created.json().url).toBe(masked);
    const id = created.json().id as number;
    for (const path of ['/api/webhooks', `/api/webhooks/${id}`]) {
      const response = await t.app.inject({ method: 'GET', url: path });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain(masked);
      expect(response.body).not.toContain('alice');
      expect(response.body).not.toContain(encodeURIComponent(PASSWORD));
    }
    // The URL as shown means "unchanged".
    const patched = await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, payload: { url: masked, description: 'x' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().url).toBe(masked);
    expect(await storedUrl(id)).toBe(url);
    // A mask with another host is not a URL anyone can mean.
    const elsewhere = await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, payload: { url: 'http://****:****@127.0.0.1:9/other' } });
    expect(elsewhere.statusCode).toBe(422);
    expect(JSON.stringify(elsewhere.json())).toMatch(/masked/);
    // New credentials in full replace the old ones, and are masked again.
    const replaced = await t.app.inject({ method: 'PATCH', url: `/api/webhooks/${id}`, payload: { url: `http://bob:new-pass@127.0.0.1:${receiver.port}/hook` } });
    expect(replaced.json().url).toBe(masked);
    expect(await storedUrl(id)).toBe(`http://bob:new-pass@127.0.0.1:${receiver.port}/hook`);
  });

  it('keeps them out of the delivery log and the test call result when the endpoint cannot be reached', async () => {
    const url = `http://alice:${encodeURIComponent(PASSWORD)}@127.0.0.1:${await closedPort()}/hook`;
    const created = await t.app.inject({ method: 'POST', url: '/api/webhooks', payload: { url, events: ['product.created'] } });
    const id = created.json().id as number;
    const tested = await t.app.inject({ method: 'POST', url: `/api/webhooks/${id}/test` });
    expect(tested.json()).toMatchObject({ success: false });
    await createProduct(t.app, `CRED-${dialect}`);
    await waitUntil(async () => (await deliveriesOf(t.app, id)).some((delivery) => delivery.error !== null));
    const log = await t.app.inject({ method: 'GET', url: `/api/webhooks/${id}/deliveries` });
    for (const body of [tested.body, log.body]) {
      expect(body).not.toContain('alice');
      expect(body).not.toContain(encodeURIComponent(PASSWORD));
    }
  });
});

describe('redactUrlCredentials (error texts and log lines)', () => {
  it('masks the user information of every URL in a text, and nothing else', async () => {
    const { redactUrlCredentials, maskUrlCredentials } = await import('../../src/webhooks/webhooks.url-mask.js');
    expect(redactUrlCredentials('POST https://u:p%40ss@example.com/x failed; retry http://tok@h:8080/y')).toBe(
      'POST https://****@example.com/x failed; retry http://****@h:8080/y',
    );
    expect(redactUrlCredentials('user@example.com wrote https://example.com/a@b')).toBe('user@example.com wrote https://example.com/a@b');
    expect(maskUrlCredentials('https://example.com/hook?x=1')).toBe('https://example.com/hook?x=1');
    expect(maskUrlCredentials('https://token@example.com/hook')).toBe('https://****@example.com/hook');
  });
});
