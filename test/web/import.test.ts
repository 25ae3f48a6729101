import fs from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleSize } from '../../scripts/build-web.js';
import type { Job } from '../../src/jobs/jobs.schemas.js';
import { runAxe } from './support/axe.js';
import { chromiumAvailable, collectPageErrors, launchBrowser, type Browser } from './support/browser.js';
import { writeCatalog, type CatalogFile } from './support/csv.js';
import { dropFile, measureTransfer, parseCount, progressValues, recordProgressBars, throttleUploads } from './support/page-tools.js';
import { docsScreenshot, horizontalOverflow, screenshot } from './support/screenshots.js';
import { startWebApp, type WebApp } from './support/web-app.js';

const MAX_UPLOAD_BYTES = 48 * 1024 * 1024;

describe.skipIf(!chromiumAvailable())('Import view in Chromium', () => {
  let server: WebApp;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let catalog: CatalogFile;

  beforeAll(async () => {
    catalog = writeCatalog('catalog.csv', 50_000, 1000);
    [server, browser] = await Promise.all([startWebApp({ env: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) } }), launchBrowser()]);
    page = await browser.newPage();
    pageErrors = collectPageErrors(page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function apiJob(id: string): Promise<Job> {
    const response = await fetch(`${server.url}/api/jobs/${id}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Job;
  }

  /** The newest job card, once it shows `status`. */
  async function cardWithStatus(status: Job['status'], nth = 0): Promise<Locator> {
    const card = page.locator(`article[data-status="${status}"]`).nth(nth);
    await card.waitFor({ timeout: 60_000 });
    return card;
  }

  /** Waits until `card` shows `status`; a timeout says what the card and the toasts showed instead. */
  async function waitForStatus(card: Locator, status: Job['status'], timeout = 30_000): Promise<void> {
    try {
      await card.and(page.locator(`[data-status="${status}"]`)).waitFor({ timeout });
    } catch (error) {
      const shown = `card: ${await card.textContent().catch(() => '?')} | toasts: ${await page.locator('.toasts').textContent().catch(() => '?')}`;
      throw new Error(`not ${status} within ${timeout} ms; ${shown}`, { cause: error });
    }
  }

  async function shownCounts(card: Locator) {
    const count = async (name: string) => parseCount(await card.locator(`[data-count="${name}"] dd`).textContent());
    return { inserted: await count('inserted'), updated: await count('updated'), unchanged: await count('unchanged'), invalid: await count('invalid') };
  }

  it('first load of / is small: prints the bytes transferred and the bundle size', async () => {
    const fresh = await browser.newPage();
    const transfer = await measureTransfer(fresh, async () => {
      await fresh.goto(`${server.url}/`, { waitUntil: 'networkidle' });
      await fresh.getByRole('heading', { level: 1, name: 'Import products' }).waitFor();
    });
    const size = bundleSize();
    console.log(
      `first load of /: ${transfer.total} bytes transferred (${JSON.stringify(transfer.byType)}); ` +
        `bundle ${size.bytes} bytes, ${size.gzipBytes} gzipped (${size.files.map((file) => `${file.name} ${file.gzipBytes}`).join(', ')})`,
    );
    expect(transfer.total).toBeLessThan(300 * 1024);
    expect(size.gzipBytes).toBeLessThan(150 * 1024);
    await fresh.close();
  });

  it('imports a 50,000-row CSV chosen with the file input: upload progress, live progress, the right counts', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Recent imports' }).waitFor();
    await recordProgressBars(page);
    await throttleUploads(page, 1024 * 1024); // ~3.5 s for the file, so the upload bar is seen moving
    await page.locator('input[type="file"]').setInputFiles(catalog.file);
    const card = await cardWithStatus('completed');
    await throttleUploads(page, null);

    const uploadValues = await progressValues(page, 'Upload of');
    expect(uploadValues.some((value) => value > 0 && value < 100), `upload bar values ${uploadValues.join(', ')}`).toBe(true);
    const importValues = await progressValues(page, 'Import progress of');
    expect(importValues.at(-1)).toBe(100);
    expect(importValues).toEqual([...importValues].sort((a, b) => a - b)); // it only moves forward
    console.log(`upload bar: ${uploadValues.length} values; import bar: ${importValues.join(' → ')}`);

    const job = await apiJob((await card.getAttribute('data-job-id')) ?? '');
    expect(job).toMatchObject({ status: 'completed', rows_processed: 50_000, inserted: 50_000 - catalog.invalid, updated: 0, unchanged: 0, invalid: catalog.invalid });
    expect(await shownCounts(card)).toEqual({ inserted: job.inserted, updated: job.updated, unchanged: job.unchanged, invalid: job.invalid });
    await expect.poll(() => card.locator('.job-status').textContent()).toContain('Imported 50,000 rows');
    // The history lists it with the same counts.
    const row = page.locator(`tr[data-job-id="${job.id}"]`);
    await expect.poll(() => row.textContent()).toContain('Completed');
    expect(await row.textContent()).toContain('49,950');
  }, 120_000);

  it('previews the rejected rows with line numbers and downloads them as CSV', async () => {
    const card = await cardWithStatus('completed');
    const rejected = card.getByRole('region', { name: 'Rejected rows' });
    await rejected.locator('tbody tr').first().waitFor();
    // Row 1000 is on line 1001 (the header is line 1).
    expect(await rejected.locator('tbody tr').first().textContent()).toMatch(/^1001SKU-0001000price/);
    expect(await rejected.locator('tbody tr').count()).toBe(10);
    const [download] = await Promise.all([page.waitForEvent('download'), rejected.getByRole('link', { name: /Download rejected rows/ }).click()]);
    const text = fs.readFileSync((await download.path()) ?? '', 'utf8');
    const lines = text.trim().split(/\r?\n/);
    expect(lines[0]).toMatch(/^line,error,sku,name/);
    expect(lines).toHaveLength(catalog.invalid + 1);

    await runAxe(page);
    await screenshot(page, 'import');
    await docsScreenshot(page, 'import-1280-light', 1280, 'light');
    await docsScreenshot(page, 'import-375-dark', 375, 'dark');
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await horizontalOverflow(page)).toBe(0);
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 60_000);

  it('imports the same file dropped on the drop zone: every valid row unchanged', async () => {
    await page.goto(`${server.url}/import`);
    await page.getByRole('heading', { name: 'Recent imports' }).waitFor();
    await dropFile(page, page.getByTestId('dropzone'), 'dropped.csv', catalog.content.toString('utf8'));
    const card = page.locator('article[aria-label="Import of dropped.csv"][data-status="completed"]');
    await card.waitFor({ timeout: 60_000 });
    const job = await apiJob((await card.getAttribute('data-job-id')) ?? '');
    expect(job).toMatchObject({ filename: 'dropped.csv', inserted: 0, updated: 0, unchanged: 50_000 - catalog.invalid, invalid: catalog.invalid });
    expect(await shownCounts(card)).toEqual({ inserted: 0, updated: 0, unchanged: job.unchanged, invalid: job.invalid });
  }, 120_000);

  it('shows the server’s refusals in words: missing columns, not a CSV, too large', async () => {
    await page.goto(`${server.url}/`);
    const refusal = async (name: string, text: string, zeroBytesAfter = 0) => {
      await dropFile(page, page.getByTestId('dropzone'), name, text, { zeroBytesAfter });
      const alert = page.locator(`article[aria-label="Upload of ${name}"] [role="alert"]`);
      await alert.waitFor();
      return alert.textContent();
    };
    const missing = await refusal('no-name.csv', 'sku,title\nA-1,Thing\n');
    const apiAnswer = await fetch(`${server.url}/api/upload?filename=no-name.csv`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'sku,title\nA-1,Thing\n' });
    expect(apiAnswer.status).toBe(400);
    expect(missing).toBe(((await apiAnswer.json()) as { detail: string }).detail);
    expect(missing).toMatch(/name/);

    expect(await refusal('picture.csv', '\u0000\u0001\u0002PNG binary \u0000 data')).toMatch(/binary|not a CSV|text/i);
    expect(await refusal('huge.csv', 'sku,name\n', MAX_UPLOAD_BYTES + 1024)).toMatch(/larger than the limit|upload limit/);
    await page.getByRole('button', { name: 'Dismiss' }).first().click();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('shows a second upload as queued, picks both up again after a reload, cancels, and retries', async () => {
    // Long enough (~10 MB gzipped, tens of seconds to import) that it is still running after a reload.
    const big = writeCatalog('big.csv.gz', 1_000_000);
    const small = writeCatalog('small.csv', 2_000);
    await page.goto(`${server.url}/`);
    await page.locator('input[type="file"]').setInputFiles(big.file);
    const running = page.locator('article[aria-label="Import of big.csv.gz"]');
    await waitForStatus(running, 'running');
    await page.locator('input[type="file"]').setInputFiles(small.file);
    const queued = page.locator('article[aria-label="Import of small.csv"]');
    await waitForStatus(queued, 'queued');
    expect(await queued.locator('.badge').textContent()).toBe('Queued');

    await page.reload();
    await waitForStatus(running, 'running');
    await waitForStatus(queued, 'queued');
    // While it runs, searches skip its unindexed rows (docs/architecture.md, "While a job runs"): the card says when they are found.
    expect(await running.locator('.job-search-note').textContent()).toMatch(/once the import has finished/);
    expect(await queued.locator('.job-search-note').count()).toBe(0);

    const [cancelAnswer] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/cancel'), { timeout: 60_000 }),
      queued.getByRole('button', { name: 'Cancel import' }).click(),
    ]);
    expect(cancelAnswer.status(), await cancelAnswer.text()).toBe(200);
    await waitForStatus(queued, 'cancelled');
    await running.getByRole('button', { name: 'Cancel import' }).click();
    await waitForStatus(running, 'cancelled');
    const id = (await running.getAttribute('data-job-id')) ?? '';
    const cancelled = await apiJob(id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.rows_processed).toBeLessThan(big.rows);
    expect(await running.locator('.job-status').textContent()).toContain('Cancelled after');

    await running.getByRole('button', { name: 'Retry' }).click();
    await waitForStatus(running, 'completed', 120_000);
    const done = await apiJob(id);
    expect(done).toMatchObject({ status: 'completed', rows_processed: big.rows, invalid: 0 });
    expect(done.inserted + done.updated + done.unchanged).toBe(big.rows);
    expect(await shownCounts(running)).toEqual({ inserted: done.inserted, updated: done.updated, unchanged: done.unchanged, invalid: 0 });
    expect(await running.locator('.job-search-note').count()).toBe(0);
    await page.locator('.rate-chart').first().waitFor();
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
