import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog, multipartBody } from '../jobs/job-helpers.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const EVIL = 'https://evil.example';

describe('cross-site requests (no token configured, the default)', () => {
  let t: TestApp;
  let webhookId: number;
  let secret: string;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    const created = await t.app.inject({ method: 'POST', url: '/api/webhooks', payload: { url: 'http://127.0.0.1:9/hook', events: ['product.created'] } });
    expect(created.statusCode, created.body).toBe(201);
    ({ id: webhookId, secret } = created.json());
  });
  afterAll(async () => {
    await t?.close();
  });

  const uploads = () => (fs.existsSync(t.config.uploadDir) ? fs.readdirSync(t.config.uploadDir) : []);
  const jobs = async () => (await t.app.inject('/api/jobs')).json() as unknown[];
  const currentSecret = async () => (await t.app.inject(`/api/webhooks/${webhookId}/secret`)).json().secret as string;

  it('refuses a multipart upload from another site with 403, keeping no file and making no job', async () => {
    const { body, contentType } = multipartBody('file', 'evil.csv', catalog(5));
    const response = await t.app.inject({ method: 'POST', url: '/api/upload', headers: { 'content-type': contentType, origin: EVIL }, payload: body });
    expect(response.statusCode, response.body).toBe(403);
    expect(response.json().detail).toMatch(/another site/);
    expect(uploads()).toEqual([]);
    expect(await jobs()).toEqual([]);
  });

  it.each([
    ['a foreign Origin', { origin: EVIL }],
    ['Origin: null (sandboxed frame, redirect)', { origin: 'null' }],
    ['an Origin on another port', { origin: 'http://localhost:8080' }],
    ['a sibling subdomain', { origin: 'http://api.localhost' }],
    ['a garbage Origin', { origin: 'not a url' }],
    ['Sec-Fetch-Site: cross-site without Origin', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site', origin: 'http://localhost' }],
  ])('refuses rotating a webhook secret from %s', async (_what, headers) => {
    const response = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhookId}/rotate-secret`, headers });
    expect(response.statusCode, response.body).toBe(403);
    expect(await currentSecret()).toBe(secret);
  });

  it('refuses a text/plain body on a JSON route with 415 (what a cross-site form can send)', async () => {
    const rotate = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhookId}/rotate-secret`, headers: { 'content-type': 'text/plain' }, payload: '{}' });
    expect(rotate.statusCode, rotate.body).toBe(415);
    expect(rotate.json().detail).toEqual(expect.any(String));
    expect(await currentSecret()).toBe(secret);
    const create = await t.app.inject({ method: 'POST', url: '/api/products', headers: { 'content-type': 'text/plain;charset=UTF-8' }, payload: '{"sku":"TP","name":"x"}' });
    expect(create.statusCode).toBe(415);
    const form = await t.app.inject({ method: 'POST', url: '/api/products', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'sku=TP&name=x' });
    expect(form.statusCode).toBe(415);
  });

  it('lets same-origin browser requests and clients without those headers through', async () => {
    for (const headers of [{}, { origin: 'http://localhost' }, { origin: 'http://LOCALHOST:80' }, { origin: 'http://localhost', 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }]) {
      const response = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhookId}/rotate-secret`, headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(200);
    }
    const sameOrigin = await t.app.inject({ method: 'POST', url: '/api/products', headers: { origin: 'https://shop.example', host: 'shop.example' }, payload: { sku: 'SO-1', name: 'Same origin' } });
    expect(sameOrigin.statusCode, sameOrigin.body).toBe(201);
    const { body, contentType } = multipartBody('file', 'ok.csv', catalog(3));
    const upload = await t.app.inject({ method: 'POST', url: '/api/upload', headers: { 'content-type': contentType, origin: 'http://localhost', 'sec-fetch-site': 'same-origin' }, payload: body });
    expect(upload.statusCode, upload.body).toBe(202);
  });

  it('lets reads from another site through (they change nothing; the browser keeps the answer from that site)', async () => {
    expect((await t.app.inject({ url: '/api/products', headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(200);
  });
});

describe('cross-site requests with a token and the session cookie', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { API_TOKEN: 'tok' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a sign-in and a cookie-carrying write from another site', async () => {
    const signIn = await t.app.inject({ method: 'POST', url: '/api/session', headers: { origin: EVIL }, payload: { token: 'tok' } });
    expect(signIn.statusCode).toBe(403);
    expect(signIn.headers['set-cookie']).toBeUndefined();
    const cookie = String((await t.app.inject({ method: 'POST', url: '/api/session', payload: { token: 'tok' } })).headers['set-cookie']).split(';')[0]!;
    const write = await t.app.inject({ method: 'POST', url: '/api/products', headers: { cookie, origin: EVIL }, payload: { sku: 'X', name: 'x' } });
    expect(write.statusCode).toBe(403);
    const own = await t.app.inject({ method: 'POST', url: '/api/products', headers: { cookie, origin: 'http://localhost' }, payload: { sku: 'X', name: 'x' } });
    expect(own.statusCode).toBe(201);
  });
});
