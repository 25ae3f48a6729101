import { readFileSync } from 'node:fs';

/** The product's name and version, from package.json (for the API docs and user-agents). */
export const PRODUCT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
export const PRODUCT_USER_AGENT = `ProductImporter/${PRODUCT_VERSION}`;
