import net from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROUTES } from '../../src/web-ui/web-ui.routes.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const TOKEN = 's3cret-token';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The routes open without the token: probes, API docs and their assets, the sign-in, the web UI's pages and files. */
function isPublic(url: string): boolean {
  return (
    ['/healthz', '/readyz', '/openapi.json', '/redoc', '/redoc/redoc.standalone.js', '/api/session', ...APP_ROUTES].includes(url) ||
    url === '/docs' ||
    url.startsWith('/docs/') ||
    url.startsWith('/assets/')
  );
}

/** A concrete path for a route pattern (`:id` and `*` filled in). */
function samplePath(pattern: string): string {
  return pattern.replace(/:id\b/g, '00000000-0000-4000-8000-000000000001').replace(/:[A-Za-z_]+/g, '1').replace(/\*/g, 'x');
}

/** One raw HTTP/1.1 exchange, the request line exactly as given (no client normalises it). */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

describe('API token: deny by default, decided on the matched route', () => {
  let t: TestApp;
  let secret: string;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp('sqlite', { API_TOKEN: TOKEN, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    const created = await t.app.inject({ method: 'POST', url: '/api/webhooks', headers: auth, payload: { url: 'http://127.0.0.1:9/hook', events: ['product.created'] } });
    expect(created.statusCode, created.body).toBe(201);
    secret = created.json().secret;
    await t.app.inject({ method: 'POST', url: '/api/products', headers: auth, payload: { sku: 'SECRET-SKU', name: 'Hidden product' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await t?.close();
  });

  function expectNoData(response: { statusCode: number; body: string }, what: string) {
    expect([401, 404, 405], `${what}: ${response.statusCode} ${response.body.slice(0, 200)}`).toContain(response.statusCode);
    expect(response.body, what).not.toContain(secret);
    expect(response.body, what).not.toContain('SECRET-SKU');
    expect(response.body, what).not.toContain('whsec_');
  }

  it('answers 401 without credentials on every route that is not explicitly public', async () => {
    const routes = t.app.routeTable;
    expect(routes.length).toBeGreaterThan(30);
    const open: string[] = [];
    for (const route of routes) {
      const response = await t.app.inject({ method: route.method as InjectOptions['method'], url: samplePath(route.url) });
      if (isPublic(route.url)) {
        open.push(`${route.method} ${route.url}`);
        expect(response.statusCode, `${route.method} ${route.url} is public`).not.toBe(401);
      } else {
        expect(response.statusCode, `${route.method} ${route.url}: ${response.body}`).toBe(401);
        expect(response.headers['www-authenticate']).toBe('Bearer');
      }
    }
    expect(open).toEqual(expect.arrayContaining(['GET /healthz', 'GET /readyz', 'GET /openapi.json', 'GET /docs', 'POST /api/session']));
    expect(routes.some((route) => route.url === '/metrics'), 'metrics is a route, and closed').toBe(true);
  });

  it.each([
    ['GET', '/%61pi/webhooks/1/secret'],
    ['POST', '/%61pi/webhooks/1/secret'],
    ['GET', '/%61pi/products'],
    ['GET', '/%2561pi/products'],
    ['GET', '/api%2Fproducts'],
    ['GET', '/API/products'],
    ['GET', '/Api/webhooks/1'],
    ['GET', '/api/products/'],
    ['GET', '/api/webhooks/1/'],
    ['GET', '/api/products;a=b'],
    ['GET', '/api;/products'],
    ['GET', '//api/products'],
    ['GET', '/./api/products'],
    ['GET', '/x/../api/products'],
    ['GET', '/api/products?x=/healthz'],
    ['GET', '/healthz/../api/products'],
    ['GET', '/docs/../api/products'],
    ['GET', '/docs/static/..%2f..%2fapi%2fproducts'],
    ['HEAD', '/api/products'],
    ['HEAD', '/%61pi/products'],
    ['OPTIONS', '/api/products'],
    ['OPTIONS', '/api/webhooks/1/secret'],
    ['DELETE', '/%61pi/products'],
  ] as const)('gives no data for %s %s without credentials', async (method, url) => {
    expectNoData(await t.app.inject({ method, url }), `${method} ${url}`);
  });

  it('does not import a file posted to /%61pi/upload', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/%61pi/upload?filename=x.csv', headers: { 'content-type': 'text/csv' }, payload: 'sku,name\nA,B\n' });
    expectNoData(response, 'POST /%61pi/upload');
    const jobs = await t.app.inject({ url: '/api/jobs', headers: auth });
    expect(jobs.json()).toEqual([]);
  });

  it.each([
    'GET http://127.0.0.1:PORT/api/webhooks/1/secret HTTP/1.1',
    'GET http://127.0.0.1:PORT/%61pi/webhooks/1/secret HTTP/1.1',
    'GET http://localhost:PORT/api/products HTTP/1.1',
    'GET HTTP://127.0.0.1:PORT/api/products HTTP/1.1',
    'GET /%61pi/webhooks/1/secret HTTP/1.1',
    'GET /%61pi/webhooks/1/secret HTTP/1.0',
    'GET /api/products#/healthz HTTP/1.1',
  ])('gives no data for the raw request line %s', async (line) => {
    const answer = await rawRequest(port, `${line.replace('PORT', String(port))}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);
    expect([400, 401, 404], answer.slice(0, 300)).toContain(status);
    expect(answer).not.toContain(secret);
    expect(answer).not.toContain('SECRET-SKU');
  });

  it('takes the Bearer scheme in any letter case, and nothing else', async () => {
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer   ${TOKEN} `]) {
      expect((await t.app.inject({ url: '/api/products', headers: { authorization } })).statusCode, authorization).toBe(200);
    }
    for (const authorization of [TOKEN, `Basic ${TOKEN}`, `Bearer${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer ', `Token ${TOKEN}`]) {
      expect((await t.app.inject({ url: '/api/products', headers: { authorization } })).statusCode, authorization).toBe(401);
    }
  });

  it('keeps unknown routes and wrong methods at 404/405 without the token, showing nothing', async () => {
    const unknown = await t.app.inject('/api/nothing-here');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ detail: 'Not found: GET /api/nothing-here' });
    const wrongMethod = await t.app.inject({ method: 'PUT', url: '/api/webhooks/1/secret' });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.json().detail).toMatch(/^Method PUT not allowed/);
  });
});
