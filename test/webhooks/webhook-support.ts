import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import type { Executor } from '../../src/db/database.schema.js';
import { insertWebhook } from '../../src/webhooks/webhooks.repository.js';
import type { WebhookDelivery } from '../../src/webhooks/webhooks.schemas.js';
import type { HostResolver } from '../../src/webhooks/webhooks.ssrf.js';
import { createTestStore, testConfig, type Dialect, type TestStore } from '../support/test-app.js';

// A real HTTP receiver on 127.0.0.1 and the real app wired for webhooks (private networks
// allowed, so the receiver on loopback is reachable; short backoff and timeout for speed).

export interface ReceivedRequest {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** How to answer the n-th request (0-based); default 200. */
  respond: (request: ReceivedRequest, index: number) => Reply;
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(respond: Receiver['respond'] = () => ({})): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const receiver = { respond } as Receiver;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = requests.length;
      requests.push(received);
      const reply = receiver.respond(received, index);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
        res.end(reply.body ?? 'ok');
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    async waitForRequests(count: number, timeoutMs = 15_000) {
      await waitUntil(() => requests.length >= count, timeoutMs, () => `${requests.length} of ${count} requests arrived`);
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/**
 * A second webhook, on a receiver of its own, subscribed to `events`. The dispatcher fans events
 * out in the order they were committed, all webhooks of an event at once; so when the sentinel
 * has an event, every delivery that event or an earlier one should have made exists already:
 * proof that something was not sent, without waiting a while.
 */
export async function startSentinel(app: FastifyInstance, events: string[] = ['product.created']) {
  const receiver = await startReceiver();
  const webhook = await createWebhook(app, { url: receiver.url, events });
  return {
    receiver,
    webhook,
    /** Waits for the sentinel's delivery of the product event about `sku`. */
    async received(sku: string): Promise<void> {
      const about = (request: ReceivedRequest) => (JSON.parse(request.body) as { data?: { sku?: string } }).data?.sku === sku;
      await waitUntil(() => receiver.requests.some(about), 15_000, () => `the sentinel's delivery about ${sku}`);
    },
    close: () => receiver.close(),
  };
}

/** A port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000, describe = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Verifies a received request with the independent `standardwebhooks` implementation; returns the parsed body. */
export function verifySignature(request: ReceivedRequest, secret: string): { id: string; type: string; timestamp: string; data: unknown } {
  const headers = {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
  return new StandardWebhook(secret).verify(request.body, headers) as { id: string; type: string; timestamp: string; data: unknown };
}

export const WEBHOOK_TEST_ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_BACKOFF_BASE_MS: '50',
  WEBHOOK_TIMEOUT_MS: '1000',
  WEBHOOK_MAX_ATTEMPTS: '3',
};

export interface WebhookTestApp {
  app: FastifyInstance;
  runtime: Runtime;
  config: Config;
  store: TestStore;
  /** Closes the app and runtime; keeps the store (for a restart). */
  stop(): Promise<void>;
  /** stop(), then drops the store. */
  close(): Promise<void>;
}

export interface WebhookAppOptions {
  env?: Record<string, string>;
  resolveHost?: HostResolver;
  /** Reuse a store (a restart); otherwise a fresh one. */
  store?: TestStore;
  runWebhookDispatcher?: boolean;
}

export async function startWebhookApp(dialect: Dialect, options: WebhookAppOptions = {}): Promise<WebhookTestApp> {
  const store = options.store ?? (await createTestStore(dialect));
  const config = testConfig(store, { ...WEBHOOK_TEST_ENV, ...options.env });
  const runtime = await openRuntime(config, () => undefined, {
    resolveHost: options.resolveHost,
    runWebhookDispatcher: options.runWebhookDispatcher,
  });
  const app = await buildApp({ ...runtime, resolveHost: options.resolveHost });
  await app.ready();
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      await app.close();
      await runtime.close();
    })();
    return stopped;
  };
  return {
    app,
    runtime,
    config,
    store,
    stop,
    async close() {
      await stop();
      await store.drop();
    },
  };
}

export async function createWebhook(app: FastifyInstance, body: Record<string, unknown>): Promise<{ id: number; secret: string }> {
  const response = await app.inject({ method: 'POST', url: '/api/webhooks', payload: body });
  if (response.statusCode !== 201) throw new Error(`creating a webhook answered ${response.statusCode}: ${response.body}`);
  return response.json();
}

export async function createProduct(app: FastifyInstance, sku: string): Promise<{ id: number; sku: string }> {
  const response = await app.inject({ method: 'POST', url: '/api/products', payload: { sku, name: `Product ${sku}`, price: '1.50' } });
  if (response.statusCode !== 201) throw new Error(`creating a product answered ${response.statusCode}: ${response.body}`);
  return response.json();
}

export async function deliveriesOf(app: FastifyInstance, webhookId: number): Promise<WebhookDelivery[]> {
  const response = await app.inject({ method: 'GET', url: `/api/webhooks/${webhookId}/deliveries?limit=200` });
  return response.json();
}

/** A webhook row subscribed to product.created, never delivered to, written straight to the database; its id. */
export async function insertTestWebhook(db: Executor, row: { url: string; enabled: boolean; at: string }): Promise<number> {
  const webhook = await insertWebhook(db, {
    url: row.url,
    events: JSON.stringify(['product.created']),
    enabled: row.enabled ? 1 : 0,
    description: null,
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    disabled_reason: null,
    disabled_at: null,
    failing_since: null,
    last_delivery_status: null,
    last_delivery_response_status: null,
    last_delivery_at: null,
    created_at: row.at,
    updated_at: row.at,
  });
  return Number(webhook.id);
}
