import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Webhook, WebhookDelivery } from '../../src/webhooks/webhooks.schemas.js';
import { closedPort, startReceiver, verifySignature, type Receiver } from '../webhooks/webhook-support.js';
import { runAxe } from './support/axe.js';
import { chromiumAvailable, collectPageErrors, launchBrowser, type Browser } from './support/browser.js';
import { horizontalOverflow, screenshot } from './support/screenshots.js';
import { startWebApp, type WebApp } from './support/web-app.js';

// The Webhooks view in Chromium against the real app and a real HTTP receiver on loopback
// (private networks allowed, so the app may send to it). The steps build on each other.

const METADATA_URL = 'http://169.254.169.254/latest/meta-data';

// Steps wait for real deliveries and a browser on a shared machine: more time than the default.
describe.skipIf(!chromiumAvailable())('Webhooks view in Chromium', { timeout: 60_000 }, () => {
  let server: WebApp;
  let browser: Browser;
  let receiver: Receiver;
  let page: Page;
  let pageErrors: string[];
  let card: Locator;
  let secret: string;

  beforeAll(async () => {
    [server, browser, receiver] = await Promise.all([
      startWebApp({ env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_BACKOFF_BASE_MS: '50' } }),
      launchBrowser(),
      startReceiver(),
    ]);
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await browser.newPage();
    pageErrors = collectPageErrors(page);
    card = page.getByRole('article', { name: receiver.url });
  });
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await server?.close();
  });

  const api = async <T>(method: 'GET' | 'POST', url: string, payload?: object): Promise<T> =>
    (await server.app.inject({ method, url, ...(payload ? { payload } : {}) })).json() as T;
  const webhooks = () => api<Webhook[]>('GET', '/api/webhooks');
  const secretText = () => card.locator('.secret-value code').textContent();

  it('starts empty, and the add dialog is a keyboard-usable modal', async () => {
    await page.goto(`${server.url}/webhooks`);
    await page.getByText('No webhook endpoints yet').waitFor();
    const add = page.getByRole('button', { name: 'Add endpoint' });
    await add.click();
    const dialog = page.getByRole('dialog', { name: 'Add endpoint' });
    await dialog.waitFor();
    // The dialog moves focus in an effect after it renders, and gives it back in the cleanup after
    // it is gone: wait for each move rather than read focus once (CI saw the read come first).
    const focused = (element: Locator) => element.evaluate((node) => node === node.ownerDocument.activeElement);
    await expect.poll(() => focused(dialog.getByLabel('Endpoint URL'))).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => focused(add)).toBe(true);
  });

  it('shows the server’s refusal of a link-local URL at the field, then adds the receiver', async () => {
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add endpoint' });
    const urlField = dialog.getByLabel('Endpoint URL');
    await urlField.fill(METADATA_URL);
    await dialog.getByRole('button', { name: 'Add endpoint' }).click();

    const refusal = await server.app.inject({ method: 'POST', url: '/api/webhooks', payload: { url: METADATA_URL, events: ['product.created'] } });
    const message = (refusal.json() as { detail: { msg: string }[] }).detail[0]?.msg ?? '';
    expect(message).toMatch(/^Refused: /);
    await expect.poll(() => urlField.getAttribute('aria-invalid')).toBe('true');
    const describedBy = await urlField.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(message);
    await runAxe(page); // the dialog, with a message in it

    await urlField.fill(receiver.url);
    await dialog.getByRole('checkbox', { name: /Import completed/ }).check();
    await dialog.getByRole('button', { name: 'Add endpoint' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await card.waitFor();
    expect((await webhooks()).map(({ url, events }) => ({ url, events }))).toEqual([
      { url: receiver.url, events: ['product.created', 'product.updated', 'product.deleted', 'import.completed'] },
    ]);
    expect(await card.getByText('No deliveries yet').count()).toBe(1);
  });

  it('sends a test and shows the status code and response time; the request is signed with the revealed secret', async () => {
    await card.getByRole('button', { name: /^Send test/ }).click();
    await expect.poll(() => card.getByRole('status').textContent()).toMatch(/^Test succeeded: 200 in \d+ ms\.$/);
    const [request] = await receiver.waitForRequests(1);

    await card.getByRole('button', { name: 'Deliveries and secret' }).click();
    await card.getByRole('button', { name: 'Reveal' }).click();
    await expect.poll(secretText).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    secret = (await secretText()) as string;
    expect(verifySignature(request!, secret).type).toBe('webhook.test');

    await card.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Secret copied.').waitFor();
    const copied = await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
    expect(copied).toBe(secret);
    // The list now shows the outcome and the health strip.
    await card.getByRole('img', { name: 'Last 1 attempts: 1 succeeded, 0 failed' }).waitFor();
  });

  it('lists the delivery and opens its request and response bodies', async () => {
    const log = card.getByRole('table');
    const row = log.locator('tbody tr').first();
    await expect.poll(() => row.textContent()).toContain('Succeeded');
    const cells = await row.getByRole('cell').allTextContents();
    expect(cells.slice(0, 5)).toEqual(['✓ Succeeded', 'webhook.test', '200', expect.stringMatching(/^\d+ ms$/), '1']);
    await row.getByRole('button', { name: 'Details' }).click();
    const requestBody = await card.getByLabel('Request body').textContent();
    expect(JSON.parse(requestBody ?? '')).toEqual(JSON.parse(receiver.requests[0]!.body));
    expect(await card.getByLabel('Response body').textContent()).toBe('ok');
    await runAxe(page); // the list with the open delivery log
  });

  it('redelivers: the receiver gets the event again with the same webhook-id, and the log shows it', async () => {
    await card.getByRole('table').locator('tbody tr').first().getByRole('button', { name: 'Redeliver' }).click();
    const requests = await receiver.waitForRequests(2);
    expect(requests[1]!.headers['webhook-id']).toBe(requests[0]!.headers['webhook-id']);
    expect(requests[1]!.body).toBe(requests[0]!.body);
    await expect.poll(() => card.getByRole('table').getByText('✓ Succeeded').count()).toBe(2);
    await card.getByRole('img', { name: 'Last 2 attempts: 2 succeeded, 0 failed' }).waitFor();
  });

  it('rotates the secret after a confirmation; the next delivery verifies with the new secret only', async () => {
    await card.getByRole('button', { name: 'Rotate…' }).click();
    const confirm = page.getByRole('dialog', { name: 'Rotate the signing secret?' });
    await confirm.getByRole('button', { name: 'Rotate secret' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await expect.poll(secretText).not.toBe(secret);
    const rotated = (await secretText()) as string;
    expect(rotated).toMatch(/^whsec_/);

    await card.getByRole('button', { name: /^Send test/ }).click();
    const requests = await receiver.waitForRequests(3);
    expect(verifySignature(requests[2]!, rotated).type).toBe('webhook.test');
    expect(() => verifySignature(requests[2]!, secret)).toThrow();
  });

  it('disables and enables the endpoint with its switch', async () => {
    const toggle = card.getByRole('switch', { name: 'Enabled' });
    await toggle.uncheck();
    await page.getByText(/^Endpoint disabled/).waitFor();
    expect((await webhooks())[0]?.enabled).toBe(false);
    expect(await card.getByText('Disabled through the API.').count()).toBe(1);
    await toggle.check();
    await page.getByText('Endpoint enabled.').waitFor();
    expect((await webhooks())[0]).toMatchObject({ enabled: true, disabled_reason: null });
  });

  it('edits the description and events', async () => {
    await card.getByRole('button', { name: /^Edit/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit endpoint' });
    expect(await dialog.getByLabel('Endpoint URL').inputValue()).toBe(receiver.url);
    await dialog.getByLabel('Description').fill('ERP sync');
    await dialog.getByRole('checkbox', { name: /Product deleted/ }).uncheck();
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await card.getByText('ERP sync').waitFor();
    expect((await webhooks())[0]).toMatchObject({ description: 'ERP sync', events: ['product.created', 'product.updated', 'import.completed'] });
  });

  it('shows a failing endpoint in red, fits 375 px, and takes screenshots', async () => {
    // A second endpoint whose receiver fails every other request: a red and green strip.
    const flaky = await startReceiver((_request, index) => (index % 2 === 1 ? { status: 500, body: '{"error":"database is down"}' } : {}));
    try {
      const { id } = await api<Webhook>('POST', '/api/webhooks', { url: `${flaky.url}?token=abc123`, events: ['import.completed'], description: 'Warehouse' });
      for (let call = 0; call < 5; call += 1) await api('POST', `/api/webhooks/${id}/test`, {});
      await page.reload();
      const flakyCard = page.getByRole('article', { name: `${flaky.url}?token=••••` });
      await flakyCard.getByRole('img', { name: 'Last 5 attempts: 3 succeeded, 2 failed' }).waitFor();
      expect(await flakyCard.getByText('60 % of the last 5 succeeded').count()).toBe(1);
      expect(await page.getByText('abc123').count()).toBe(0); // the token in the URL is masked
      await flakyCard.getByRole('button', { name: /^Send test/ }).click();
      await expect.poll(() => flakyCard.getByRole('status').textContent()).toMatch(/^Test failed: the endpoint answered 500 in \d+ ms\.$/);
      await flakyCard.getByRole('img', { name: 'Last 6 attempts: 3 succeeded, 3 failed' }).waitFor();

      await card.getByRole('button', { name: 'Deliveries and secret' }).click();
      await card.getByRole('table').waitFor();
      await page.setViewportSize({ width: 375, height: 800 });
      expect(await horizontalOverflow(page)).toBe(0);
      await runAxe(page); // the phone layout of the list and the log
      await page.setViewportSize({ width: 1280, height: 800 });
      await screenshot(page, 'webhooks');
    } finally {
      await flaky.close();
    }
  });

  it('says in words why a test reached no endpoint', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/gone`;
    await api('POST', '/api/webhooks', { url, events: ['product.created'] });
    await page.reload();
    const unreachable = page.getByRole('article', { name: url });
    await unreachable.getByRole('button', { name: /^Send test/ }).click();
    await expect.poll(() => unreachable.getByRole('status').textContent()).toMatch(/^Test failed: .+ in \d+ ms\.$/);
    // The words are the server's: the error recorded for the attempt.
    const id = (await webhooks()).find((webhook) => webhook.url === url)?.id;
    const [delivery] = await api<WebhookDelivery[]>('GET', `/api/webhooks/${id}/deliveries`);
    expect(delivery?.error).toBeTruthy();
    expect(await unreachable.getByRole('status').textContent()).toBe(`Test failed: ${delivery?.error} in ${delivery?.response_time_ms} ms.`);
  });

  it('deletes endpoints after a confirmation', async () => {
    for (let left = (await webhooks()).length; left > 0; left -= 1) {
      await page.getByRole('button', { name: /^Delete/ }).first().click();
      const confirm = page.getByRole('dialog', { name: 'Delete this endpoint?' });
      await confirm.getByRole('button', { name: 'Delete endpoint' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await expect.poll(async () => (await webhooks()).length).toBe(left - 1);
    }
    await page.getByText('No webhook endpoints yet').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
