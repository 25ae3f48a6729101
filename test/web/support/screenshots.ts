import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';

export const SCREENSHOT_DIR = path.resolve('test-output/screenshots');

const WIDTHS = [1280, 375] as const;
const SCHEMES = ['light', 'dark'] as const;

/**
 * `<name>-<width>-<scheme>.png` for each width and colour scheme (test-output/ is git-ignored).
 * Leaves the page as it was: 1280 wide, light. Returns the files written.
 */
export async function screenshot(page: Page, name: string): Promise<string[]> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize() ?? { width: 1280, height: 800 };
  const files: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: original.height });
    for (const colorScheme of SCHEMES) {
      await page.emulateMedia({ colorScheme });
      const file = path.join(SCREENSHOT_DIR, `${name}-${width}-${colorScheme}.png`);
      // Transitions finished at once: the picture shows the scheme just switched to, not a blend.
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
      files.push(file);
    }
  }
  await page.setViewportSize(original);
  await page.emulateMedia({ colorScheme: 'light' });
  return files;
}

/** The page's content width beyond its viewport (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

/**
 * One viewport-sized picture (not the full page, so it stays small enough to commit) for the
 * README: `test-output/screenshots/docs/<name>.png`. Copied to docs/screenshots/ by hand.
 */
export async function docsScreenshot(page: Page, name: string, width: number, colorScheme: 'light' | 'dark'): Promise<string> {
  const dir = path.join(SCREENSHOT_DIR, 'docs');
  fs.mkdirSync(dir, { recursive: true });
  const original = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.setViewportSize({ width, height: width < 600 ? 780 : 800 });
  await page.emulateMedia({ colorScheme });
  const file = path.join(dir, `${name}.png`);
  await page.evaluate('window.scrollTo(0, 0)'); // the top of the view, with the header
  await page.screenshot({ path: file, animations: 'disabled' });
  await page.setViewportSize(original);
  await page.emulateMedia({ colorScheme: 'light' });
  return file;
}
