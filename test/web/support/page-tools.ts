import type { CDPSession, Locator, Page } from 'playwright-core';

// Helpers that run code in the page. This project's tsconfig has no DOM types (it is Node's), so
// the few browser objects used are given their shape here.

/** Starts recording every aria-valuenow of the page's progress bars, by their aria-label. */
export async function recordProgressBars(page: Page): Promise<void> {
  await page.evaluate(() => {
    type Element = { getAttribute(name: string): string | null; getAttribute(name: 'role'): string | null };
    const scope = globalThis as unknown as {
      progressLog: { label: string; value: number }[];
      MutationObserver: new (callback: (records: { target: Element }[]) => void) => { observe(target: unknown, options: object): void };
      document: { body: unknown };
    };
    scope.progressLog = [];
    new scope.MutationObserver((records) => {
      for (const { target } of records) {
        const value = target.getAttribute('aria-valuenow');
        if (target.getAttribute('role') === 'progressbar' && value !== null) scope.progressLog.push({ label: target.getAttribute('aria-label') ?? '', value: Number(value) });
      }
    }).observe(scope.document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'], childList: true });
  });
}

/** The recorded values of the progress bars whose label starts with `labelStart`, in order. */
export async function progressValues(page: Page, labelStart: string): Promise<number[]> {
  const log = await page.evaluate(() => (globalThis as unknown as { progressLog: { label: string; value: number }[] }).progressLog);
  return log.filter((entry) => entry.label.startsWith(labelStart)).map((entry) => entry.value);
}

/** Drops a file on a target as a user dragging it from the desktop would (a real DataTransfer). */
export async function dropFile(page: Page, target: Locator, name: string, text: string, options: { type?: string; zeroBytesAfter?: number } = {}): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ name: fileName, text: content, type: mediaType, padding }) => {
      const scope = globalThis as unknown as {
        DataTransfer: new () => { items: { add(file: unknown): void } };
        File: new (parts: unknown[], name: string, options: { type: string }) => unknown;
      };
      const transfer = new scope.DataTransfer();
      // Padding is made in the page (not sent over the protocol), so a large file costs nothing to build.
      transfer.items.add(new scope.File([content, new Uint8Array(padding)], fileName, { type: mediaType }));
      return transfer;
    },
    { name, text, type: options.type ?? 'text/csv', padding: options.zeroBytesAfter ?? 0 },
  );
  await target.dispatchEvent('dragenter', { dataTransfer });
  await target.dispatchEvent('dragover', { dataTransfer });
  await target.dispatchEvent('drop', { dataTransfer });
}

const throttlingSessions = new WeakMap<Page, CDPSession>();

/** Limits the page's upload speed (Chromium's network emulation), so upload progress is observable on loopback. */
export async function throttleUploads(page: Page, bytesPerSecond: number | null): Promise<void> {
  // One session per page: the conditions belong to the session that set them, so another could not lift them.
  let cdp = throttlingSessions.get(page);
  if (!cdp) {
    cdp = await page.context().newCDPSession(page);
    throttlingSessions.set(page, cdp);
    await cdp.send('Network.enable');
  }
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond ?? -1,
  });
}

/** Bytes received over the network (headers + bodies as sent) while `load` runs, per resource type. */
export async function measureTransfer(page: Page, load: () => Promise<void>): Promise<{ total: number; byType: Record<string, number> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const types = new Map<string, string>();
  const byType: Record<string, number> = {};
  cdp.on('Network.responseReceived', (event) => types.set(event.requestId, event.type));
  cdp.on('Network.loadingFinished', (event) => {
    const type = types.get(event.requestId) ?? 'Other';
    byType[type] = (byType[type] ?? 0) + event.encodedDataLength;
  });
  await load();
  await cdp.detach();
  return { total: Object.values(byType).reduce((sum, bytes) => sum + bytes, 0), byType };
}

/** "49,950" → 49950 */
export function parseCount(text: string | null): number {
  return Number((text ?? '').replace(/[^\d]/g, ''));
}
