import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { startWebhookApp, type WebhookTestApp } from './webhook-support.js';

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

describeEachDialect('webhooks API on %s', (dialect) => {
  let t: WebhookTestApp;
  beforeAll(async () => {
    t = await startWebhookApp(dialect, { runWebhookDispatcher: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  const inject = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  const create = (body: unknown) => inject('POST', '/api/webhooks', body);

  it('creates a webhook (201) with a generated secret shown in full once, masked afterwards', async () => {
    const response = await create({ url: 'http://127.0.0.1:9/hooks', events: ['product.created', 'import.completed'], description: 'ERP sync' });
    expect(response.statusCode).toBe(201);
    const webhook = response.json();
    expect(webhook).toMatchObject({
      url: 'http://127.0.0.1:9/hooks',
      events: ['product.created', 'import.completed'],
      enabled: true,
      description: 'ERP sync',
      disabled_reason: null,
      disabled_at: null,
      last_delivery: null,
    });
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(webhook.secret.slice(6), 'base64')).toHaveLength(32);
    expect(webhook.created_at).toMatch(/Z$/);

    const masked = `whsec_********${webhook.secret.slice(-4)}`;
    const read = await inject('GET', `/api/webhooks/${webhook.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual({ ...webhook, secret: masked });
    const list = await inject('GET', '/api/webhooks');
    expect(list.json().find((item: { id: number }) => item.id === webhook.id).secret).toBe(masked);
    expect(list.body).not.toContain(webhook.secret);

    const revealed = await inject('GET', `/api/webhooks/${webhook.id}/secret`);
    expect(revealed.json()).toEqual({ secret: webhook.secret });
  });

  it('accepts a secret given in the right format, and the single event_type alias', async () => {
    const response = await create({ url: 'https://127.0.0.1/x', event_type: 'product.deleted', secret: SECRET, enabled: false });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ events: ['product.deleted'], secret: SECRET, enabled: false, disabled_reason: 'Disabled through the API.' });
  });

  it('deduplicates events', async () => {
    const response = await create({ url: 'http://127.0.0.1/x', events: ['product.created', 'product.created'] });
    expect(response.json().events).toEqual(['product.created']);
  });

  it.each([
    [{ events: ['product.created'] }, ['body', 'url'], 'missing'],
    [{ url: 'ftp://127.0.0.1/x', events: ['product.created'] }, ['body', 'url'], 'url_scheme'],
    [{ url: 'not a url', events: ['product.created'] }, ['body', 'url'], 'url_parsing'],
    [{ url: `http://127.0.0.1/${'a'.repeat(2048)}`, events: ['product.created'] }, ['body', 'url'], 'string_too_long'],
    [{ url: 'http://127.0.0.1/x' }, ['body', 'events'], 'missing'],
    [{ url: 'http://127.0.0.1/x', events: [] }, ['body', 'events'], 'too_short'],
    [{ url: 'http://127.0.0.1/x', events: ['product.exploded'] }, ['body', 'events', '0'], 'enum'],
    [{ url: 'http://127.0.0.1/x', event_type: 'nope' }, ['body', 'event_type'], 'enum'],
    [{ url: 'http://127.0.0.1/x', events: ['product.created'], event_type: 'product.created' }, ['body', 'event_type'], 'value_error'],
    [{ url: 'http://127.0.0.1/x', events: ['product.created'], secret: 'hunter2' }, ['body', 'secret'], 'string_pattern_mismatch'],
    [{ url: 'http://127.0.0.1/x', events: ['product.created'], secret: 'whsec_AAAA' }, ['body', 'secret'], 'value_error'],
    [{ url: 'http://127.0.0.1/x', events: ['product.created'], description: 'x'.repeat(1001) }, ['body', 'description'], 'value_error'],
    [{ url: 'http://127.0.0.1/x', events: ['product.created'], color: 'red' }, ['body', 'color'], 'extra_forbidden'],
    [{ url: 'http://127.0.0.1/x', events: ['product.created'], enabled: 'yes' }, ['body', 'enabled'], 'type_error'],
  ])('rejects bad body #%# with 422 at the right loc', async (body, loc, type) => {
    const response = await create(body);
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toEqual(expect.arrayContaining([expect.objectContaining({ loc, type })]));
  });

  it('accepts exactly 2,048 characters of URL', async () => {
    const url = `http://127.0.0.1/${'a'.repeat(2048 - 'http://127.0.0.1/'.length)}`;
    expect((await create({ url, events: ['product.created'] })).statusCode).toBe(201);
  });

  it('updates with PUT and PATCH (partial), ignoring echoed read-only fields and the masked secret', async () => {
    const created = (await create({ url: 'http://127.0.0.1/a', events: ['product.created'], secret: SECRET })).json();
    const patched = await inject('PATCH', `/api/webhooks/${created.id}`, { event_type: 'import.failed', description: null });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ url: 'http://127.0.0.1/a', events: ['import.failed'], description: null });
    expect(patched.json().secret).toBe(`whsec_********${SECRET.slice(-4)}`);

    const read = (await inject('GET', `/api/webhooks/${created.id}`)).json();
    const put = await inject('PUT', `/api/webhooks/${created.id}`, { ...read, url: 'http://127.0.0.1/b' });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ url: 'http://127.0.0.1/b', events: ['import.failed'] });
    expect((await inject('GET', `/api/webhooks/${created.id}/secret`)).json().secret).toBe(SECRET);

    const newSecret = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
    await inject('PATCH', `/api/webhooks/${created.id}`, { secret: newSecret });
    expect((await inject('GET', `/api/webhooks/${created.id}/secret`)).json().secret).toBe(newSecret);

    const invalid = await inject('PATCH', `/api/webhooks/${created.id}`, { url: 'javascript:alert(1)', events: ['nope'] });
    expect(invalid.statusCode).toBe(422);
  });

  it('rotates the secret: the answer shows the new one in full', async () => {
    const created = (await create({ url: 'http://127.0.0.1/r', events: ['product.created'], secret: SECRET })).json();
    const rotated = await inject('POST', `/api/webhooks/${created.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().secret).toMatch(/^whsec_/);
    expect(rotated.json().secret).not.toBe(SECRET);
    expect((await inject('GET', `/api/webhooks/${created.id}/secret`)).json().secret).toBe(rotated.json().secret);
  });

  it('deletes a webhook (204) with its deliveries', async () => {
    const created = (await create({ url: 'http://127.0.0.1/d', events: ['product.created'] })).json();
    await inject('POST', '/api/products', { sku: 'DEL-WH', name: 'x' });
    await t.runtime.database.db
      .insertInto('webhook_deliveries')
      .values({ webhook_id: created.id, event_id: 'evt_x', event_type: 'product.created', attempt: 1, status: 'pending', created_at: new Date().toISOString(), next_attempt_at: new Date().toISOString() })
      .execute();
    expect((await inject('GET', `/api/webhooks/${created.id}/logs`)).json()).toHaveLength(1);
    const response = await inject('DELETE', `/api/webhooks/${created.id}`);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect((await inject('GET', `/api/webhooks/${created.id}`)).statusCode).toBe(404);
    const left = await t.runtime.database.db.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', created.id).execute();
    expect(left).toHaveLength(0);
  });

  it('lists deliveries newest first with a limit (≤ 200), under /deliveries and /logs', async () => {
    const created = (await create({ url: 'http://127.0.0.1/l', events: ['product.created'] })).json();
    const now = new Date().toISOString();
    const rows = Array.from({ length: 5 }, (_, index) => ({
      webhook_id: created.id,
      event_id: `evt_${index}`,
      event_type: 'product.created',
      attempt: 1,
      status: 'failed' as const,
      created_at: now,
      next_attempt_at: null,
    }));
    await t.runtime.database.db.insertInto('webhook_deliveries').values(rows).execute();
    const deliveries = await inject('GET', `/api/webhooks/${created.id}/deliveries?limit=3`);
    expect(deliveries.statusCode).toBe(200);
    expect(deliveries.json().map((d: { event_id: string }) => d.event_id)).toEqual(['evt_4', 'evt_3', 'evt_2']);
    expect(deliveries.json()[0]).toEqual({
      id: expect.any(Number),
      event_id: 'evt_4',
      event_type: 'product.created',
      attempt: 1,
      status: 'failed',
      response_status: null,
      response_time_ms: null,
      response_body: null,
      error: null,
      request_body: null, // no such event is stored
      created_at: now,
      attempted_at: null,
      next_attempt_at: null,
    });
    const logs = await inject('GET', `/api/webhooks/${created.id}/logs`);
    expect(logs.json()).toHaveLength(5);
    expect((await inject('GET', `/api/webhooks/${created.id}/deliveries?limit=201`)).statusCode).toBe(422);
    expect((await inject('GET', `/api/webhooks/${created.id}/deliveries?limit=0`)).statusCode).toBe(422);
  });

  it.each([
    ['GET', '/api/webhooks/999999'],
    ['PUT', '/api/webhooks/999999'],
    ['PATCH', '/api/webhooks/999999'],
    ['DELETE', '/api/webhooks/999999'],
    ['POST', '/api/webhooks/999999/rotate-secret'],
    ['GET', '/api/webhooks/999999/secret'],
    ['GET', '/api/webhooks/999999/deliveries'],
    ['GET', '/api/webhooks/999999/logs'],
    ['POST', '/api/webhooks/999999/test'],
    ['POST', '/api/webhooks/999999/deliveries/1/redeliver'],
  ] as const)('%s %s is 404', async (method, url) => {
    const response = await inject(method, url, method === 'PUT' || method === 'PATCH' ? { description: 'x' } : undefined);
    expect(response.statusCode).toBe(404);
    expect(response.json().detail).toMatch(/not found/);
  });

  it('rejects a non-numeric id with 422 and an unknown method with 405', async () => {
    expect((await inject('GET', '/api/webhooks/abc')).statusCode).toBe(422);
    expect((await inject('POST', '/api/webhooks/1')).statusCode).toBe(405);
  });

  it('describes the webhook routes in the OpenAPI document', async () => {
    const spec = (await inject('GET', '/openapi.json')).json();
    for (const path of [
      '/api/webhooks',
      '/api/webhooks/{id}',
      '/api/webhooks/{id}/test',
      '/api/webhooks/{id}/deliveries',
      '/api/webhooks/{id}/logs',
      '/api/webhooks/{id}/deliveries/{delivery_id}/redeliver',
      '/api/webhooks/{id}/rotate-secret',
    ]) {
      expect(spec.paths[path], path).toBeDefined();
    }
    expect(spec.components.schemas.Webhook).toBeDefined();
    expect(spec.components.schemas.WebhookDelivery).toBeDefined();
  });
});
