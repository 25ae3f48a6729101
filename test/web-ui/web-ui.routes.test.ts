import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { webDistDir } from '../../scripts/build-web.js';
import { createTestStore, testConfig, type TestStore } from '../support/test-app.js';

// The built UI comes from the global setup (test/web/support/global-setup.ts).

async function appServing(distDir: string | null, env: Record<string, string> = {}) {
  const store = await createTestStore('sqlite');
  const runtime = await openRuntime(testConfig(store, env));
  const app = await buildApp({ ...runtime, webDistDir: distDir });
  await app.ready();
  return { app, runtime, store };
}

describe('web UI serving', () => {
  let app: FastifyInstance;
  let runtime: Runtime;
  let store: TestStore;
  let scriptPath: string;

  beforeAll(async () => {
    ({ app, runtime, store } = await appServing(webDistDir, { API_TOKEN: 'secret-token' }));
    const html = fs.readFileSync(path.join(webDistDir, 'index.html'), 'utf8');
    scriptPath = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ?? '';
    expect(scriptPath).not.toBe('');
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
    await store.drop();
  });

  it.each(['/', '/import', '/products?q=red%20shoe&page=3', '/webhooks', '/sign-in', '/products/42'])(
    'answers %s with index.html, not cached, without the token',
    async (url) => {
      const response = await app.inject({ url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      // The page works under the app's strict policy (its one script and stylesheet are files).
      expect(response.headers['content-security-policy']).toContain("script-src 'self'");
      expect(response.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(response.body).toContain('<div id="app"></div>');
      expect(response.body).toContain(scriptPath);
    },
  );

  it('serves hashed assets cached for a year, precompressed when accepted', async () => {
    const plain = await app.inject({ url: scriptPath });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-type']).toMatch(/javascript/);
    const brotli = await app.inject({ url: scriptPath, headers: { 'accept-encoding': 'br, gzip' } });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotli.rawPayload.length).toBeLessThan(plain.rawPayload.length);
  });

  it('keeps JSON 404s for the API, unknown assets and paths that are not app routes', async () => {
    for (const url of ['/api/nothing-here', '/assets/missing-123.js', '/admin', '/products.php']) {
      const response = await app.inject({ url, headers: { authorization: 'Bearer secret-token' } });
      expect(response.statusCode, url).toBe(404);
      expect(response.json(), url).toEqual({ detail: expect.stringContaining('Not found') });
    }
  });

  it('does not serve files outside the assets folder', async () => {
    for (const url of ['/assets/../index.html', '/assets/%2e%2e/.build-stamp', '/assets/..%2f..%2fpackage.json']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).not.toBe(200);
    }
  });

  it('still asks for the token on the API', async () => {
    expect((await app.inject({ url: '/api/products' })).statusCode).toBe(401);
  });
});

describe('web UI not built', () => {
  it('starts and says at / how to build the UI, while the API works', async () => {
    const missing = fs.mkdtempSync(path.join(os.tmpdir(), 'no-web-dist-'));
    const { app, runtime, store } = await appServing(missing);
    try {
      const response = await app.inject({ url: '/products' });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain('npm run build');
      expect((await app.inject({ url: '/api/products' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await runtime.close();
      await store.drop();
      fs.rmSync(missing, { recursive: true, force: true });
    }
  });
});
