import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAxe } from './support/axe.js';
import { chromiumAvailable, collectPageErrors, launchBrowser, type Browser } from './support/browser.js';
import { horizontalOverflow, screenshot } from './support/screenshots.js';
import { startWebApp, type WebApp } from './support/web-app.js';

// The Products view in real Chromium against the real app (SQLite file, worker threads). The
// tests of the first describe run in order on one catalog: each says what it changes.

const available = chromiumAvailable();

interface ListedPage {
  items: { id: number; sku: string; name: string; price: string | null; active: boolean }[];
  total: number;
}

/** 25 products: 12 chairs (every third one inactive), 8 tables, 5 lamps, in that id order. */
const CATALOG = [
  ...Array.from({ length: 12 }, (_, index) => ({
    sku: `CHAIR-${String(index + 1).padStart(2, '0')}`,
    name: `Chair ${String.fromCharCode(65 + index)}`,
    price: `${10 + index}.50`,
    active: index % 3 !== 2,
  })),
  ...Array.from({ length: 8 }, (_, index) => ({
    sku: `TABLE-${String(index + 1).padStart(2, '0')}`,
    name: `Table ${String.fromCharCode(65 + index)}`,
    price: `${200 + index}.00`,
    active: true,
  })),
  ...Array.from({ length: 5 }, (_, index) => ({
    sku: `LAMP-${String(index + 1).padStart(2, '0')}`,
    name: `Lamp ${String.fromCharCode(65 + index)}`,
    price: null,
    active: true,
  })),
];

async function api<T>(web: WebApp, urlPath: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const response = await fetch(`${web.url}${urlPath}`, {
    method: init.method ?? 'GET',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const listed = async (web: WebApp, query = '') => (await api<ListedPage>(web, `/api/products?page_size=100${query}`)).body;

/** The SKUs in the table's rows, in order (skeleton rows have none). */
const shownSkus = (page: Page) => page.locator('.products-table tbody td.col-sku').allTextContents();

/** Waits until the table shows exactly these SKUs (or, with a number, that many rows) and no request is pending. */
async function expectRows(page: Page, expected: string[] | number): Promise<void> {
  await expect.poll(async () => {
    if ((await page.locator('.products-table[aria-busy="true"]').count()) > 0) return null;
    const skus = await shownSkus(page);
    return typeof expected === 'number' ? skus.length : skus;
  }).toEqual(expected);
}

const productListRequests = (page: Page) => {
  const seen: string[] = [];
  const listener = (request: Request) => {
    const url = new URL(request.url());
    if (url.pathname === '/api/products') seen.push(url.search);
  };
  page.on('request', listener);
  return { seen, stop: () => page.off('request', listener) };
};

const currentPath = (page: Page) => {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
};

describe.skipIf(!available)('products view', () => {
  let web: WebApp;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    web = await startWebApp();
    for (const product of CATALOG) {
      const { status } = await api(web, '/api/products', { method: 'POST', body: product });
      expect(status).toBe(201);
    }
    browser = await launchBrowser();
    page = await browser.newPage();
    pageErrors = collectPageErrors(page);
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('shows the first page with the total, then filters by search (one request per typed word), SKU prefix and status', async () => {
    await page.goto(`${web.url}/products`);
    await expectRows(page, CATALOG.slice(0, 20).map((product) => product.sku));
    await expect.poll(() => page.locator('.products-count').textContent()).toBe('25 products');
    await expect.poll(() => page.locator('.pagination-summary').textContent()).toBe('1–20 of 25 products');

    const requests = productListRequests(page);
    await page.getByLabel('Search').pressSequentially('lamp');
    await expectRows(page, ['LAMP-01', 'LAMP-02', 'LAMP-03', 'LAMP-04', 'LAMP-05']);
    requests.stop();
    expect(requests.seen).toEqual(['?q=lamp&page=1&page_size=20']);
    expect(currentPath(page)).toBe('/products?q=lamp');

    await page.getByLabel('Search').fill('');
    await page.getByLabel('SKU starts with').fill('table');
    await expectRows(page, CATALOG.filter((product) => product.sku.startsWith('TABLE')).map((product) => product.sku));
    expect(currentPath(page)).toBe('/products?sku=table');

    await page.getByLabel('SKU starts with').fill('');
    await page.getByLabel('Status').selectOption('false');
    await expectRows(page, ['CHAIR-03', 'CHAIR-06', 'CHAIR-09', 'CHAIR-12']);
    expect(currentPath(page)).toBe('/products?active=false');
    await expect.poll(() => page.locator('.products-count').textContent()).toBe('4 matching products');

    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await expectRows(page, 20);
    expect(currentPath(page)).toBe('/products');
  });

  it('sorts by a column header, ascending then descending, with aria-sort', async () => {
    const nameHeader = page.getByRole('columnheader', { name: 'Name' });
    await nameHeader.getByRole('button').click();
    await expect.poll(() => nameHeader.getAttribute('aria-sort')).toBe('ascending');
    await expectRows(page, 20);
    expect((await page.locator('.products-table tbody td.col-name').first().textContent())).toBe('Chair A');

    await nameHeader.getByRole('button').click();
    await expect.poll(() => nameHeader.getAttribute('aria-sort')).toBe('descending');
    await expect.poll(() => page.locator('.products-table tbody td.col-name').first().textContent()).toBe('Table H');
    expect(currentPath(page)).toBe('/products?sort=name&order=desc');
  });

  it('paginates and changes the page size', async () => {
    await page.goto(`${web.url}/products`);
    await expectRows(page, 20);
    await page.getByRole('button', { name: 'Next page' }).click();
    await expectRows(page, CATALOG.slice(20).map((product) => product.sku));
    expect(currentPath(page)).toBe('/products?page=2');
    await expect.poll(() => page.locator('.pagination-summary').textContent()).toBe('21–25 of 25 products');

    await page.getByLabel('Per page').selectOption('50');
    await expectRows(page, 25);
    expect(currentPath(page)).toBe('/products?page_size=50');
  });

  it('restores filters, sort and page from the URL on reload, Back and Forward', async () => {
    // By price, highest first, unknown prices last: page 2 holds the five lamps (ties by id, descending).
    await page.goto(`${web.url}/products?sort=price&order=desc&page=2`);
    await expectRows(page, ['LAMP-05', 'LAMP-04', 'LAMP-03', 'LAMP-02', 'LAMP-01']);
    expect(await page.getByRole('columnheader', { name: 'Price' }).getAttribute('aria-sort')).toBe('descending');

    await page.getByLabel('Search').fill('chair');
    await expect.poll(() => currentPath(page)).toBe('/products?q=chair&sort=price&order=desc');
    await expect.poll(async () => (await shownSkus(page))[0]).toBe('CHAIR-12');

    await page.getByRole('button', { name: 'SKU' }).click();
    await expect.poll(() => currentPath(page)).toBe('/products?q=chair&sort=sku&order=asc');
    await expect.poll(async () => (await shownSkus(page))[0]).toBe('CHAIR-01');

    await page.reload();
    await expectRows(page, 12);
    expect((await shownSkus(page))[0]).toBe('CHAIR-01');
    expect(await page.getByRole('columnheader', { name: 'SKU' }).getAttribute('aria-sort')).toBe('ascending');
    expect(await page.getByLabel('Search').inputValue()).toBe('chair');

    await page.goBack();
    await expect.poll(() => currentPath(page)).toBe('/products?q=chair&sort=price&order=desc');
    await expect.poll(async () => (await shownSkus(page))[0]).toBe('CHAIR-12');
    expect(await page.getByRole('columnheader', { name: 'Price' }).getAttribute('aria-sort')).toBe('descending');

    await page.goBack();
    await expect.poll(() => currentPath(page)).toBe('/products?sort=price&order=desc&page=2');
    await expectRows(page, ['LAMP-05', 'LAMP-04', 'LAMP-03', 'LAMP-02', 'LAMP-01']);
    expect(await page.getByLabel('Search').inputValue()).toBe('');

    await page.goForward();
    await expect.poll(() => currentPath(page)).toBe('/products?q=chair&sort=price&order=desc');
    await expect.poll(() => page.getByLabel('Search').inputValue()).toBe('chair');
    await expect.poll(async () => (await shownSkus(page))[0]).toBe('CHAIR-12');
  });

  it('creates a product in the dialog, with the 422 messages next to their fields', async () => {
    await page.goto(`${web.url}/products?q=desk`);
    await expect.poll(() => page.getByText('No products match these filters.').isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Add product' }).click();
    const dialog = page.getByRole('dialog', { name: 'New product' });
    await dialog.getByLabel('SKU').fill('DESK-01');
    await dialog.getByLabel('Price').fill('12.345');
    await dialog.getByRole('button', { name: 'Create product' }).click();
    await expect.poll(() => dialog.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.getByLabel('Price').getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.locator('.field-error').allTextContents()).toHaveLength(2);
    await runAxe(page); // the dialog, with its messages

    await dialog.getByLabel('Name').fill('Standing desk');
    await dialog.getByLabel('Price').fill('349.5');
    await dialog.getByLabel('Description').fill('Height adjustable');
    await dialog.getByRole('button', { name: 'Create product' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Created DESK-01.' }).count()).toBe(1);
    await expectRows(page, ['DESK-01']);

    const desk = (await listed(web, '&sku=desk')).items[0];
    expect(desk).toMatchObject({ sku: 'DESK-01', name: 'Standing desk', price: '349.50', active: true });
  });

  it('edits a product, showing a duplicate SKU (409) in the dialog', async () => {
    await page.getByRole('button', { name: 'Edit DESK-01' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit DESK-01' });
    await dialog.getByLabel('SKU').fill('table-01');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => dialog.getByLabel('SKU').getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.locator('.field-error').textContent()).toContain('already exists');
    await expect.poll(() => page.locator(':focus').getAttribute('name')).toBe('sku'); // taken to the refused field

    await dialog.getByLabel('SKU').fill('DESK-02');
    await dialog.getByLabel('Name').fill('Sitting desk');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator('.products-table tbody td.col-name').first().textContent()).toBe('Sitting desk');
    expect((await listed(web, '&sku=desk')).items.map((item) => [item.sku, item.name])).toEqual([['DESK-02', 'Sitting desk']]);
  });

  it('toggles active inline, and rolls the switch back with a toast when the server refuses', async () => {
    await page.goto(`${web.url}/products?sku=lamp`);
    await expectRows(page, 5);
    const lampSwitch = page.getByRole('switch', { name: 'Active: LAMP-01' });
    expect(await lampSwitch.isChecked()).toBe(true);
    await lampSwitch.click();
    await expect.poll(async () => (await listed(web, '&sku=lamp-01')).items[0]?.active).toBe(false);
    expect(await lampSwitch.isChecked()).toBe(false);

    // Deleted behind the view's back: the PATCH is a 404, the switch goes back.
    const lamp2 = (await listed(web, '&sku=lamp-02')).items[0]!;
    expect((await api(web, `/api/products/${lamp2.id}`, { method: 'DELETE' })).status).toBe(204);
    const lamp2Switch = page.getByRole('switch', { name: 'Active: LAMP-02' });
    await lamp2Switch.click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'Could not deactivate LAMP-02' }).count()).toBe(1);
    expect(await lamp2Switch.isChecked()).toBe(true);
  });

  it('works from the keyboard: a dialog opens on Enter, traps and returns focus; Space flips a switch', async () => {
    await page.goto(`${web.url}/products?sku=lamp-01`);
    await expectRows(page, ['LAMP-01']);
    await page.getByRole('button', { name: 'Add product' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'New product' });
    await expect.poll(() => page.locator(':focus').getAttribute('name')).toBe('sku');
    for (let step = 0; step < 12; step += 1) {
      await page.keyboard.press('Tab');
      expect(await dialog.locator(':focus').count(), 'focus stays in the dialog').toBe(1);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    await expect.poll(() => page.locator(':focus').textContent()).toBe('Add product');

    const lampSwitch = page.getByRole('switch', { name: 'Active: LAMP-01' });
    const before = await lampSwitch.isChecked();
    await lampSwitch.focus();
    await page.keyboard.press('Space');
    await expect.poll(async () => (await listed(web, '&sku=lamp-01')).items[0]?.active).toBe(!before);
  });

  it('deletes one product after confirmation', async () => {
    await page.goto(`${web.url}/products?sku=lamp`);
    await expectRows(page, ['LAMP-01', 'LAMP-03', 'LAMP-04', 'LAMP-05']);
    await page.getByRole('button', { name: 'Delete LAMP-03' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete LAMP-03?' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expectRows(page, ['LAMP-01', 'LAMP-04', 'LAMP-05']);
    expect((await listed(web, '&sku=lamp')).items.map((item) => item.sku)).toEqual(['LAMP-01', 'LAMP-04', 'LAMP-05']);
  });

  it('deletes the selected products (select-all on the page, then one unticked)', async () => {
    await page.goto(`${web.url}/products?sku=table`);
    await expectRows(page, 8);
    await page.getByLabel('Select all products on this page').check();
    await page.getByLabel('Select TABLE-01').uncheck();
    await expect.poll(() => page.getByText('7 products selected').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Delete selected' }).click();
    await page.getByRole('dialog', { name: 'Delete 7 products?' }).getByRole('button', { name: 'Delete selected' }).click();
    await expectRows(page, ['TABLE-01']);
    expect((await listed(web, '&sku=table')).items.map((item) => item.sku)).toEqual(['TABLE-01']);
  });

  it('exports the current filter and sort as CSV through a link', async () => {
    await page.goto(`${web.url}/products?q=chair&active=true&sort=price&order=desc`);
    await expectRows(page, 8);
    const link = page.getByRole('link', { name: 'Export CSV' });
    expect(await link.getAttribute('href')).toBe('/api/products/export?q=chair&active=true&sort=price&order=desc');
    const download = await Promise.all([page.waitForEvent('download'), link.click()]).then(([event]) => event);
    const csv = fs.readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
    expect(csv[0]).toBe('id,sku,name,description,price,active,created_at,updated_at');
    expect(csv.slice(1).map((line) => line.split(',')[1])).toEqual(['CHAIR-11', 'CHAIR-10', 'CHAIR-08', 'CHAIR-07', 'CHAIR-05', 'CHAIR-04', 'CHAIR-02', 'CHAIR-01']);
  });

  it('passes axe on the list, fits 375 px without page-level sideways scrolling, and is screenshotted', async () => {
    await page.goto(`${web.url}/products`);
    await expectRows(page, 17); // 25 seeded, 1 created, 2 lamps and 7 tables deleted
    await page.getByLabel('Select CHAIR-02').check();
    await runAxe(page);
    for (const width of [375, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      expect(await horizontalOverflow(page), `sideways overflow at ${width} px`).toBe(0);
    }
    await page.getByLabel('Select CHAIR-02').uncheck();
    const files = await screenshot(page, 'products');
    expect(files).toHaveLength(4);
  });

  it('deletes all products after the typed confirmation and shows the job until it is done', async () => {
    await page.goto(`${web.url}/products`);
    await expectRows(page, 17);
    await page.getByRole('button', { name: 'Delete all products' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete all products?' });
    expect(await dialog.textContent()).toContain('This cannot be undone');
    const confirm = dialog.getByRole('button', { name: 'Delete all products' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type DELETE to confirm').fill('delete');
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel('Type DELETE to confirm').fill('DELETE');
    await confirm.click();

    const progress = page.getByRole('progressbar', { name: 'Deleting all products' });
    await expect.poll(() => progress.isVisible()).toBe(true);
    await expect.poll(() => progress.getAttribute('aria-valuenow'), { timeout: 20_000 }).toBe('100');
    await expect.poll(() => page.getByText('Done: 17 products deleted.').isVisible()).toBe(true);
    await expect.poll(() => page.getByText('No products yet.').isVisible()).toBe(true);
    expect((await listed(web)).total).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});

/** A fresh app and browser for one describe (close() is idempotent, so a test may close the app itself). */
function freshAppAndBrowser(): { web: () => WebApp; browser: () => Browser } {
  let web: WebApp;
  let browser: Browser;
  beforeAll(async () => {
    web = await startWebApp();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });
  return { web: () => web, browser: () => browser };
}

describe.skipIf(!available)('products view when the server goes away', () => {
  const fresh = freshAppAndBrowser();

  it('shows the error in words with a way to try again, instead of a silent or stale list', async () => {
    const [web, browser] = [fresh.web(), fresh.browser()];
    const page = await browser.newPage();
    await page.goto(`${web.url}/products`);
    await expect.poll(() => page.getByText('No products yet.').isVisible()).toBe(true);
    await web.app.close();

    await page.getByLabel('Status').selectOption('true');
    const error = page.getByRole('alert').filter({ hasText: 'Something went wrong' });
    await expect.poll(() => error.isVisible()).toBe(true);
    expect(await error.textContent()).toContain('The server cannot be reached');
    await error.getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => error.isVisible()).toBe(true);
    expect(await page.locator('.products-table').count()).toBe(0);
  });
});

// While a job runs, a text search skips the rows an import wrote that are not indexed yet; the list
// answers search_complete: false and the view says so.
describe.skipIf(!available)('products view while an import runs', () => {
  const fresh = freshAppAndBrowser();

  it('says a search leaves out the rows a running import is writing, and lists them once it has finished', async () => {
    const [web, browser] = [fresh.web(), fresh.browser()];
    expect((await api(web, '/api/products', { method: 'POST', body: { sku: 'STOOL-01', name: 'Stool A' } })).status).toBe(201);
    // An import in progress, as the database shows it: its job row, and a product it wrote that the
    // indexer has not reached (search_dirty 1, no index entry: what the import's upsert leaves).
    const { db } = web.runtime.database;
    const now = new Date().toISOString();
    const jobId = randomUUID();
    await db.insertInto('jobs').values({ id: jobId, type: 'import', status: 'running', created_at: now, updated_at: now }).execute();
    await sql`insert into products (sku, sku_key, name, active, created_at, updated_at, search_dirty)
      values ('STOOL-02', 'stool-02', 'Stool B', 1, ${now}, ${now}, 1)`.execute(db);

    const page = await browser.newPage();
    const pageErrors = collectPageErrors(page);
    await page.goto(`${web.url}/products?q=stool`);
    await expectRows(page, ['STOOL-01']);
    expect(await page.locator('.search-incomplete').textContent()).toMatch(/import is running.*once it has finished/);

    await db.updateTable('jobs').set({ status: 'completed', finished_at: now }).where('id', '=', jobId).execute();
    await page.reload();
    await expectRows(page, ['STOOL-01', 'STOOL-02']);
    expect(await page.locator('.search-incomplete').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});

// A catalog of 1,000,000 products, seeded with one INSERT … SELECT over a recursive CTE into the
// app's own SQLite file (about 8 s here), then the time from navigation to the first page's rows.
// Printed, not asserted (the machine is shared). PRODUCTS_MILLION=0 skips it.
const millionEnabled = process.env.PRODUCTS_MILLION !== '0';

describe.skipIf(!available || !millionEnabled)('products view on 1,000,000 products', () => {
  const COUNT = 1_000_000;
  let web: WebApp;
  let browser: Browser;

  beforeAll(async () => {
    web = await startWebApp();
    const db = new Database(path.join(web.store.dataDir, 'products.db'));
    try {
      db.exec(`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${COUNT})
        insert into products (sku, sku_key, name, description, price_cents, active, created_at, updated_at)
        select printf('SKU-%07d', i), printf('sku-%07d', i), 'Product ' || i, 'Seeded product number ' || i,
               (i * 37) % 100000, i % 10 != 0,
               strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i, 'unixepoch')
        from n`);
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
  });

  it('shows the first page soon after navigation (printed)', async () => {
    const page = await browser.newPage();
    // Recorded in the page itself (not by polling from here, which adds this process's own delays):
    // when the first row is in the document, and the next animation frame, when it is on screen.
    await page.addInitScript(`(() => {
      const observer = new MutationObserver(() => {
        if (!document.querySelector('.products-table tbody td.col-sku')) return;
        observer.disconnect();
        const inDocument = performance.now();
        requestAnimationFrame(() => { window.firstRows = { inDocument, painted: performance.now() }; });
      });
      observer.observe(document, { childList: true, subtree: true });
    })()`);
    const timings: number[] = [];
    for (const attempt of ['first (cold caches)', 'second', 'third']) {
      await page.goto('about:blank');
      await page.goto(`${web.url}/products`, { waitUntil: 'commit' });
      // performance.now() counts from the navigation's start.
      // A function, not a string: the page's CSP forbids the eval a string predicate needs.
      const handle = await page.waitForFunction(() => (globalThis as unknown as { firstRows?: unknown }).firstRows);
      const { inDocument, painted } = (await handle.jsonValue()) as { inDocument: number; painted: number };
      timings.push(painted);
      // Where the time went: the page and script, the session check, the list request (start → end).
      const steps = (await page.evaluate(`[
        ...performance.getEntriesByType('navigation'),
        ...performance.getEntriesByType('resource'),
      ].map((entry) => [new URL(entry.name).pathname, Math.round(entry.startTime), Math.round(entry.responseEnd)])`)) as [string, number, number][];
      const breakdown = steps.map(([name, start, end]) => `${name} ${start}→${end}`).join(', ');
      console.log(
        `products page, ${COUNT.toLocaleString('en')} products, ${attempt} navigation: first page on screen after ${painted.toFixed(0)} ms ` +
          `(rows in the document at ${inDocument.toFixed(0)} ms; ${breakdown})`,
      );
    }
    expect(await page.locator('.pagination-summary').textContent()).toBe('1–20 of 1,000,000 products');
    expect(timings).toHaveLength(3);
  }, 60_000);
});
