import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionService } from '../../src/session/session.service.js';
import { createFailureThrottle } from '../../src/session/session.throttle.js';
import { serviceAvailable } from '../support/services.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const TOKEN = 's3cret-token';

function sessionCookie(setCookie: string | string[] | undefined): string {
  const header = [setCookie ?? []].flat().find((line) => line.startsWith('pi_session='));
  if (!header) throw new Error(`no pi_session cookie in ${JSON.stringify(setCookie)}`);
  return header;
}

describe('session endpoints with an API token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite', { API_TOKEN: TOKEN, SESSION_TTL_HOURS: '2' });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function signIn(token = TOKEN, ip = '10.0.0.1') {
    return t.app.inject({ method: 'POST', url: '/api/session', payload: { token }, remoteAddress: ip });
  }

  it('says a token is required and that an anonymous client is not signed in', async () => {
    const response = await t.app.inject('/api/session');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ auth_required: true, authenticated: false });
  });

  it('trades the right token for an HttpOnly, SameSite=Strict cookie that is not the token', async () => {
    const response = await signIn();
    expect(response.statusCode).toBe(204);
    const header = sessionCookie(response.headers['set-cookie']);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Strict/);
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; Max-Age=7200/);
    expect(header).not.toMatch(/Secure/); // plain http here
    const value = header.split(';')[0]!.slice('pi_session='.length);
    expect(value).toMatch(/^v1\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(value).not.toContain(TOKEN);
  });

  it('lets the cookie in wherever the token is needed, EventSource progress included', async () => {
    const header = sessionCookie((await signIn()).headers['set-cookie']);
    const cookie = header.split(';')[0]!;
    expect((await t.app.inject({ url: '/api/products', headers: { cookie } })).statusCode).toBe(200);
    // 404 (no such job) rather than 401: the cookie got past the token check.
    expect((await t.app.inject({ url: '/api/progress/00000000-0000-4000-8000-000000000000', headers: { cookie } })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/session', headers: { cookie } })).json()).toEqual({ auth_required: true, authenticated: true });
    expect((await t.app.inject({ url: '/api/session', headers: { authorization: `bearer ${TOKEN}` } })).json().authenticated).toBe(true);
  });

  it('refuses a wrong token with 401 and sets no cookie', async () => {
    const response = await signIn('wrong', '10.0.0.2');
    expect(response.statusCode).toBe(401);
    expect(response.json().detail).toEqual(expect.any(String));
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('refuses forged, altered and foreign cookies', async () => {
    const value = sessionCookie((await signIn()).headers['set-cookie']).split(';')[0]!.slice('pi_session='.length);
    const [version, expiry, mac] = value.split('.') as [string, string, string];
    const forgeries = [
      `${version}.${Number(expiry) + 3600}.${mac}`, // longer life, same signature
      `${version}.${expiry}.${mac.slice(0, -2)}AA`,
      `v2.${expiry}.${mac}`,
      TOKEN,
      `${value}.x`,
      '',
      createSessionService({ apiToken: 'another-token', ttlHours: 1 }).signIn('another-token', 'x')!,
    ];
    for (const forged of forgeries) {
      const response = await t.app.inject({ url: '/api/products', cookies: { pi_session: forged } });
      expect(response.statusCode, forged).toBe(401);
    }
  });

  it('clears the cookie on DELETE', async () => {
    const response = await t.app.inject({ method: 'DELETE', url: '/api/session' });
    expect(response.statusCode).toBe(204);
    const header = sessionCookie(response.headers['set-cookie']);
    expect(header).toMatch(/^pi_session=;/);
    expect(header).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(header).toMatch(/; HttpOnly/);
  });

  it('validates the body and refuses non-JSON bodies', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/session', payload: {} })).statusCode).toBe(422);
    expect((await t.app.inject({ method: 'POST', url: '/api/session', payload: { token: 1 } })).statusCode).toBe(422);
  });

  it('answers 429 with Retry-After after 10 wrong tokens from one address, and other addresses still sign in', async () => {
    for (let attempt = 0; attempt < 10; attempt++) expect((await signIn('guess', '10.0.0.9')).statusCode).toBe(401);
    const blocked = await signIn(TOKEN, '10.0.0.9');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await signIn(TOKEN, '10.0.0.10')).statusCode).toBe(204);
  });
});

describe('session endpoints without an API token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('says nothing is required, and signs in without a cookie', async () => {
    expect((await t.app.inject('/api/session')).json()).toEqual({ auth_required: false, authenticated: true });
    const response = await t.app.inject({ method: 'POST', url: '/api/session', payload: { token: 'anything' } });
    expect(response.statusCode).toBe(204);
    expect(response.headers['set-cookie']).toBeUndefined();
  });
});

describe('session cookies (stateless)', () => {
  it('are accepted by every process with the same token, until they expire', () => {
    let now = Date.parse('2026-11-30T08:00:00Z');
    const clock = () => now;
    const issuer = createSessionService({ apiToken: TOKEN, ttlHours: 12, now: clock });
    const otherProcess = createSessionService({ apiToken: TOKEN, ttlHours: 12, now: clock });
    const value = issuer.signIn(TOKEN, 'client')!;
    const request = { cookies: { pi_session: value } } as never;
    expect(otherProcess.authenticator(request)).toBe(true);
    now += 12 * 3600_000 - 1000;
    expect(otherProcess.authenticator(request)).toBe(true);
    now += 1000;
    expect(otherProcess.authenticator(request)).toBe(false);
  });
});

describe('the sign-in throttle', () => {
  it('keeps at most maxClients addresses, dropping the oldest, and opens again after the window', () => {
    let now = 0;
    const throttle = createFailureThrottle({ maxFailures: 1, windowMs: 60_000, now: () => now, maxClients: 2 });
    throttle.fail('a');
    throttle.fail('b');
    expect(throttle.blockedFor('a')).toBe(60);
    throttle.fail('c'); // a third address: the oldest ('a') is dropped
    expect(throttle.blockedFor('a')).toBe(0);
    expect(throttle.blockedFor('b')).toBe(60);
    now = 60_000;
    expect(throttle.blockedFor('c')).toBe(0);
  });
});

const opensslProblem = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'openssl is not installed (needed to make a test certificate)';
  }
})();

describe.runIf(serviceAvailable(opensslProblem))('session cookie over HTTPS', () => {
  it('is marked Secure when the request came over TLS', async () => {
    const t = await startTestApp('sqlite', { API_TOKEN: TOKEN });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pi-tls-'));
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    // The app's own request handling behind a TLS socket (what a server started with https would do).
    const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (request, response) => t.app.routing(request, response));
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const setCookie = await new Promise<string[]>((resolve, reject) => {
        const request = https.request(
          { host: '127.0.0.1', port, path: '/api/session', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
          (response) => {
            response.resume();
            resolve(response.headers['set-cookie'] ?? []);
          },
        );
        request.on('error', reject);
        request.end(JSON.stringify({ token: TOKEN }));
      });
      expect(sessionCookie(setCookie)).toMatch(/; Secure/);
    } finally {
      server.close();
      await t.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
