import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAxe } from './support/axe.js';
import { chromiumAvailable, collectPageErrors, launchBrowser, type Browser } from './support/browser.js';
import { writeCatalog } from './support/csv.js';
import { docsScreenshot, screenshot } from './support/screenshots.js';
import { startWebApp, type WebApp } from './support/web-app.js';

const TOKEN = 'ui-test-token-4f1c';

describe.skipIf(!chromiumAvailable())('sign-in and sign-out in Chromium (API_TOKEN set)', () => {
  let server: WebApp;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startWebApp({ apiToken: TOKEN }), launchBrowser()]);
    page = await browser.newPage();
    pageErrors = collectPageErrors(page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const path = () => {
    const url = new URL(page.url());
    return url.pathname + url.search;
  };

  it('sends a visitor without a session to the sign-in page, which passes axe', async () => {
    await page.goto(`${server.url}/webhooks`);
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect(path()).toBe('/sign-in?next=%2Fwebhooks');
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    await runAxe(page);
    await screenshot(page, 'sign-in');
    await docsScreenshot(page, 'sign-in-1280-light', 1280, 'light');
  });

  it('shows a wrong token’s refusal in the server’s words', async () => {
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert').filter({ hasText: /token/i });
    await alert.waitFor();
    const answer = await fetch(`${server.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'also-wrong' }) });
    expect(answer.status).toBe(401);
    expect(await alert.textContent()).toBe(((await answer.json()) as { detail: string }).detail);
    expect(await page.getByLabel('API token').getAttribute('aria-invalid')).toBe('true');
  });

  it('signs in with the token, gets an HttpOnly SameSite=Strict cookie, and returns to the page asked for', async () => {
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    expect(path()).toBe('/webhooks');
    const cookie = (await browser.context.cookies(server.url)).find((item) => item.name === 'pi_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('imports with the cookie: the upload, and a live EventSource progress stream', async () => {
    const small = writeCatalog('signed-in.csv', 1_000, 100);
    await page.goto(`${server.url}/`);
    await page.locator('input[type="file"]').setInputFiles(small.file);
    const card = page.locator('article[aria-label="Import of signed-in.csv"][data-status="completed"]');
    await card.waitFor({ timeout: 60_000 });
    const id = (await card.getAttribute('data-job-id')) ?? '';

    // Without the cookie the stream is closed to others.
    expect((await fetch(`${server.url}/api/progress/${id}`)).status).toBe(401);
    // With it, EventSource (which cannot send headers) gets the job's terminal event.
    const terminal = await page.evaluate(async (jobId) => {
      const scope = globalThis as unknown as {
        EventSource: new (url: string) => { addEventListener(type: string, listener: (event: { data: string }) => void): void; onerror: (() => void) | null; close(): void };
      };
      return new Promise<{ status: string; inserted: number; invalid: number }>((resolve, reject) => {
        const source = new scope.EventSource(`/api/progress/${jobId}`);
        source.addEventListener('completed', (event) => {
          source.close();
          resolve(JSON.parse(event.data));
        });
        source.onerror = () => {
          source.close();
          reject(new Error('the progress stream failed'));
        };
      });
    }, id);
    expect(terminal).toMatchObject({ status: 'completed', inserted: 990, invalid: 10 });
  });

  it('signs out: the cookie is cleared and the API refuses the page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    expect((await browser.context.cookies(server.url)).some((item) => item.name === 'pi_session')).toBe(false);
    const status = await page.evaluate(async () => (await fetch('/api/jobs')).status);
    expect(status).toBe(401);
    expect(pageErrors).toEqual([]);
  });
});
