import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAxe } from './support/axe.js';
import { chromiumAvailable, collectPageErrors, launchBrowser, type Browser } from './support/browser.js';
import { horizontalOverflow } from './support/screenshots.js';
import { startWebApp, type WebApp } from './support/web-app.js';

describe.skipIf(!chromiumAvailable())('web UI shell in Chromium', () => {
  let server: WebApp;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startWebApp(), launchBrowser()]);
    page = await browser.newPage();
    pageErrors = collectPageErrors(page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads /, moves between views with the navigation, and passes axe', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toMatch(/Import/);
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Import' }).getAttribute('aria-current')).toBe('page');
    await runAxe(page);

    await nav.getByRole('link', { name: 'Products' }).click();
    await page.getByRole('heading', { level: 1, name: 'Products' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/products');
    expect(await nav.getByRole('link', { name: 'Products' }).getAttribute('aria-current')).toBe('page');
    expect(await nav.getByRole('link', { name: 'Import' }).getAttribute('aria-current')).toBeNull();

    await nav.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Products' }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('opens a deep link directly and fits a 375 px screen', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${server.url}/webhooks`);
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
