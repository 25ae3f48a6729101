import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAvailable } from '../support/services.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const CHROMIUM = '/usr/bin/chromium';

function rawExchange(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

function parse(answer: string): { status: number; headers: string; body: string } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body };
}

function cspOf(header: string | string[] | number | undefined): Record<string, string[]> {
  return Object.fromEntries(
    String(header ?? '')
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...values]) => [name, values]),
  );
}

describe('security headers and client errors', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { API_TOKEN: 'tok' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['a 200', { url: '/api/products', headers: { authorization: 'Bearer tok' } }, 200],
    ['a 401', { url: '/api/products' }, 401],
    ['a 404', { url: '/nope' }, 404],
    ['a 405', { method: 'PUT' as const, url: '/healthz' }, 405],
    ['a 403', { method: 'POST' as const, url: '/api/session', headers: { origin: 'https://evil.example' }, payload: { token: 'x' } }, 403],
    ['a probe', { url: '/healthz' }, 200],
  ])('puts them on %s', async (_what, request, status) => {
    const response = await t.app.inject(request);
    expect(response.statusCode).toBe(status);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    const csp = cspOf(response.headers['content-security-policy']);
    expect(csp['default-src']).toEqual(["'self'"]);
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['style-src']).toEqual(["'self'"]);
    expect(csp['upgrade-insecure-requests']).toBeUndefined();
  });

  it.each(['/docs/', '/docs/static/swagger-ui-bundle.js', '/redoc', '/redoc/redoc.standalone.js'])('gives the docs page %s its own CSP', async (url) => {
    const response = await t.app.inject(url);
    expect(response.statusCode).toBe(200);
    const csp = cspOf(response.headers['content-security-policy']);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['style-src']).toEqual(["'self'", "'unsafe-inline'"]);
    expect(csp['worker-src']).toEqual(["'self'", 'blob:']);
    expect(csp['frame-ancestors']).toEqual(["'none'"]);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each(['/docs/static/..%2f..', '/docs/static/..%2f..%2fpackage.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/nothing.js'])(
    'answers 404 for %s, not 405',
    async (url) => {
      const response = await t.app.inject(url);
      expect([403, 404]).toContain(response.statusCode);
      expect(response.json().detail).toEqual(expect.any(String));
    },
  );

  it.each([
    ['a bad Content-Length', 'POST /api/products HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 400],
    ['Content-Length with Transfer-Encoding', 'POST /api/products HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['an unknown method', 'FROB /api/products HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['oversized headers', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['a bad request line', 'GET\r\n\r\n', 400],
    ['a broken percent-encoding', 'GET /api/products/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
    ['a broken percent-encoding on a public route', 'GET /healthz% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
  ])('answers %s in the {"detail": …} format', async (_what, request, status) => {
    const answer = parse(await rawExchange(port, request));
    expect(answer.status, answer.headers).toBe(status);
    expect(answer.headers).toContain('content-type: application/json');
    expect(answer.headers).toContain('x-content-type-options: nosniff');
    expect(JSON.parse(answer.body)).toEqual({ detail: expect.any(String) });
    expect((await t.app.inject('/healthz')).statusCode).toBe(200);
  });
});

const chromiumPresent = serviceAvailable(fs.existsSync(CHROMIUM) ? null : `Chromium is not installed at ${CHROMIUM}`);

describe.runIf(chromiumPresent)('the docs pages in Chromium under their CSP', () => {
  let t: TestApp;
  let origin: string;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { API_TOKEN: 'tok' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(t.app.server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['Swagger UI', '/docs/', '.opblock'],
    ['ReDoc', '/redoc', '[data-section-id^="tag/"]'],
  ])('renders %s with no CSP violation', async (_name, page, selector) => {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pi-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const tab = await context.newPage();
      const violations: string[] = [];
      tab.on('console', (message) => {
        const text = message.text();
        // ReDoc's "API docs by Redocly" logo comes from their CDN: blocked on purpose (assets only from us).
        if (/Content Security Policy|Refused to/i.test(text) && !text.includes('https://cdn.redoc.ly/')) violations.push(text);
      });
      await tab.goto(`${origin}${page}`);
      await tab.locator(selector).first().waitFor({ timeout: 60_000 });
      expect(await tab.locator(selector).count()).toBeGreaterThan(0);
      expect(violations).toEqual([]);
    } finally {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  }, 90_000);
});
