import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDialect } from '../support/each-dialect.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

describeEachDialect('operations on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await t.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });

  it('puts an x-request-id on every response, keeping a plain one given by the caller', async () => {
    const generated = await t.app.inject('/api/products');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await t.app.inject({ url: '/nope', headers: { 'x-request-id': 'trace-123' } });
    expect(given.statusCode).toBe(404);
    expect(given.headers['x-request-id']).toBe('trace-123');
    const forged = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } });
    // Replaced by a generated id (a UUID may well contain the letters "bad", so match its shape).
    expect(forged.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 404 for unknown routes and 405 with Allow for a wrong method', async () => {
    const missing = await t.app.inject('/api/nothing-here');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().detail).toEqual(expect.any(String));
    const wrong = await t.app.inject({ method: 'DELETE', url: '/api/products' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toContain('GET');
    expect(wrong.headers.allow).toContain('POST');
    const wrongWithId = await t.app.inject({ method: 'POST', url: '/api/products/12?x=1' });
    expect(wrongWithId.statusCode).toBe(405);
  });

  it('serves Prometheus metrics with request counts and latency by route and status', async () => {
    await t.app.inject('/api/products?page=1');
    await t.app.inject('/api/products/999999');
    const metrics = (await t.app.inject('/metrics')).body;
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/api\/products",status_code="200"\} \d+/);
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/products\/:id",status_code="404"\} \d+/);
    expect(metrics).toContain('process_resident_memory_bytes');
  });

  it('serves the OpenAPI document, Swagger UI and ReDoc with local assets only', async () => {
    const document = (await t.app.inject('/openapi.json')).json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/api/products', '/api/products/{id}', '/api/products/export', '/api/products/delete', '/healthz', '/readyz']),
    );
    expect(document.paths['/api/products'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['q', 'search', 'sku', 'name', 'description', 'active', 'sort', 'order', 'page', 'page_size']),
    );
    expect(document.components.schemas.Product.properties.price).toBeDefined();

    const swaggerUi = await t.app.inject('/docs/');
    expect(swaggerUi.statusCode).toBe(200);
    const redoc = await t.app.inject('/redoc');
    expect(redoc.body).toContain('/redoc/redoc.standalone.js');
    for (const page of [swaggerUi.body, redoc.body]) {
      const external = [...page.matchAll(/(?:src|href)="(https?:)?\/\/[^"]+"/g)];
      expect(external, 'no asset from another host').toEqual([]);
    }
    const bundle = await t.app.inject('/redoc/redoc.standalone.js');
    expect(bundle.statusCode).toBe(200);
    expect(bundle.headers['content-type']).toContain('javascript');
  });
});

describe('API token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { API_TOKEN: 's3cret-token' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 401 on /api/* without the right Bearer token', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 's3cret-token' }, { authorization: 'Basic s3cret-token' }]) {
      const response = await t.app.inject({ url: '/api/products', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(response.json().detail).toContain('token');
      expect(response.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('lets the right token through, and keeps health, metrics and docs open', async () => {
    const response = await t.app.inject({ url: '/api/products', headers: { authorization: 'Bearer s3cret-token' } });
    expect(response.statusCode).toBe(200);
    for (const url of ['/healthz', '/readyz', '/openapi.json']) {
      expect((await t.app.inject(url)).statusCode, url).toBe(200);
    }
  });
});

describe('readiness when the database is gone', () => {
  it('answers 503 from /readyz', async () => {
    const t = await startTestApp('sqlite');
    try {
      await t.runtime.database.close();
      const response = await t.app.inject('/readyz');
      expect(response.statusCode).toBe(503);
      expect(response.json().checks.database).toMatch(/^failed/);
    } finally {
      await t.close();
    }
  });
});
