import { buildWeb } from '../../../scripts/build-web.js';

/** Once per test run: build the web UI if its sources changed since the last build (browser tests serve it). */
export default async function setup(): Promise<void> {
  await buildWeb({ log: () => undefined });
}
