import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/app.js';
import { openRuntime, type Runtime } from '../../../src/runtime.js';
import { webDistDir } from '../../../scripts/build-web.js';
import { createTestStore, testConfig, type TestStore } from '../../support/test-app.js';

export interface WebApp {
  /** http://127.0.0.1:<port> */
  url: string;
  app: FastifyInstance;
  runtime: Runtime;
  store: TestStore;
  close(): Promise<void>;
}

/** The real app (embedded mode, SQLite file, worker threads) serving the built UI on a real port. */
export async function startWebApp(options: { apiToken?: string; env?: Record<string, string> } = {}): Promise<WebApp> {
  const store = await createTestStore('sqlite');
  const env = { ...options.env, ...(options.apiToken ? { API_TOKEN: options.apiToken } : {}) };
  const runtime = await openRuntime(testConfig(store, env));
  const app = await buildApp({ ...runtime, webDistDir });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: url.replace('localhost', '127.0.0.1'),
    app,
    runtime,
    store,
    async close() {
      await app.close();
      await runtime.close();
      await store.drop();
    },
  };
}
