import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalOf, refusalOfUrl, type HostResolver } from '../../src/webhooks/webhooks.ssrf.js';
import { describeEachDialect } from '../support/each-dialect.js';
import { createWebhook, deliveriesOf, startReceiver, startWebhookApp, waitUntil, type WebhookTestApp } from './webhook-support.js';

// No test here sends traffic anywhere but 127.0.0.1: names resolve through a resolver of
// ours, and every refused address is refused before any connection is made.

const ALWAYS_REFUSED = [
  '169.254.169.254', // cloud metadata (AWS, GCP, Azure, …)
  '169.254.1.1',
  '100.100.100.200', // Alibaba metadata
  'fe80::1',
  'fe80::1%eth0',
  'fd00:ec2::254', // AWS metadata over IPv6
  '::ffff:169.254.169.254', // IPv4-mapped
  '::ffff:a9fe:a9fe', // the same, in hex
  '64:ff9b::a9fe:a9fe', // NAT64 of the metadata address
  '224.0.0.1',
  '255.255.255.255',
  'ff02::1',
];

const PRIVATE = [
  '127.0.0.1',
  '127.1.2.3',
  '10.0.0.1',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.1.1',
  '100.64.0.1', // CGNAT
  '0.0.0.0',
  '::',
  '::1',
  'fc00::1',
  'fd12:3456::1',
  '::ffff:127.0.0.1', // IPv4-mapped loopback
  '::ffff:7f00:1',
  '::ffff:10.1.2.3',
  '::ffff:192.168.0.1',
  '::127.0.0.1', // IPv4-compatible
  '2002:c0a8:0101::1', // 6to4 of 192.168.1.1
];

const PUBLIC = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'];

describe('address classes', () => {
  it.each(ALWAYS_REFUSED)('%s is refused even with private networks allowed', (address) => {
    expect(refusalOf(address, address, true)).toMatch(/always refused/);
    expect(refusalOf(address, address, false)).toMatch(/always refused/);
  });

  it.each(PRIVATE)('%s is refused unless private networks are allowed', (address) => {
    expect(refusalOf(address, address, false)).toMatch(/WEBHOOK_ALLOW_PRIVATE_NETWORKS=true/);
    expect(refusalOf(address, address, true)).toBeNull();
  });

  it.each(PUBLIC)('%s is allowed', (address) => {
    expect(refusalOf(address, address, false)).toBeNull();
  });

  it('refuses metadata host names without resolving them, and checks every resolved address', async () => {
    let lookups = 0;
    const resolve: HostResolver = async () => {
      lookups++;
      return [
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ];
    };
    expect(await refusalOfUrl(new URL('http://metadata.google.internal/computeMetadata/v1/'), { allowPrivateNetworks: true, resolve })).toMatch(
      /metadata/,
    );
    expect(await refusalOfUrl(new URL('http://METADATA.google.internal./'), { allowPrivateNetworks: true, resolve })).toMatch(/metadata/);
    expect(lookups).toBe(0);
    expect(await refusalOfUrl(new URL('https://mixed.example/'), { allowPrivateNetworks: false, resolve })).toMatch(
      /mixed\.example resolves to 10\.0\.0\.7/,
    );
    // Odd IPv4 spellings are normalised by the URL parser before the check.
    expect(await refusalOfUrl(new URL('http://0x7f.1/'), { allowPrivateNetworks: false, resolve })).toMatch(/127\.0\.0\.1/);
    expect(await refusalOfUrl(new URL('http://2130706433/'), { allowPrivateNetworks: false, resolve })).toMatch(/127\.0\.0\.1/);
  });
});

/** Names of our own: `*.public.test` resolve to a documentation address, the rest as listed. */
const names: Record<string, string[]> = {
  localhost: ['127.0.0.1', '::1'],
  'intranet.test': ['10.1.2.3'],
  'loopback.test': ['127.0.0.1'],
  'mapped.test': ['::ffff:192.168.0.10'],
  'metadata.test': ['169.254.169.254'],
  'ula.test': ['fd00::5'],
  'good.public.test': ['203.0.113.10'],
};

function resolverWith(overrides: Record<string, string[]> = {}): HostResolver {
  return async (hostname) => {
    const addresses = overrides[hostname] ?? names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describeEachDialect('SSRF guard in the API on %s', (dialect) => {
  let strict: WebhookTestApp;
  let lenient: WebhookTestApp;
  beforeAll(async () => {
    strict = await startWebhookApp(dialect, { env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }, resolveHost: resolverWith() });
    lenient = await startWebhookApp(dialect, { resolveHost: resolverWith() });
  });
  afterAll(async () => {
    await strict?.close();
    await lenient?.close();
  });

  const create = (t: WebhookTestApp, url: string) =>
    t.app.inject({ method: 'POST', url: '/api/webhooks', payload: { url, events: ['product.created'] } });

  it.each([
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://localhost:8080/hook', 'loopback'],
    ['http://10.0.0.1/', 'private'],
    ['http://172.20.1.1/', 'private'],
    ['http://192.168.0.1/', 'private'],
    ['http://100.64.1.1/', 'shared'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://[::1]/', 'loopback'],
    ['http://[::]/', 'unspecified'],
    ['http://[fd00::1]/', 'unique-local'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:c0a8:1]/', 'private'],
    ['http://intranet.test/', 'intranet.test resolves to 10.1.2.3'],
    ['http://mapped.test/', 'mapped.test resolves to ::ffff:192.168.0.10'],
    ['http://ula.test/', 'unique-local'],
  ])('refuses %s at create with a 422 on body.url when private networks are not allowed', async (url, why) => {
    const response = await create(strict, url);
    expect(response.statusCode).toBe(422);
    const [issue] = response.json().detail;
    expect(issue.loc).toEqual(['body', 'url']);
    expect(issue.type).toBe('url_refused');
    expect(issue.msg).toContain(why);
    expect(issue.msg).toContain('WEBHOOK_ALLOW_PRIVATE_NETWORKS');
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata.test/',
    'http://[fe80::1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fd00:ec2::254]/',
  ])('refuses %s even when private networks are allowed', async (url) => {
    const response = await create(lenient, url);
    expect(response.statusCode).toBe(422);
    expect(response.json().detail[0]).toMatchObject({ loc: ['body', 'url'], type: 'url_refused' });
    expect(response.json().detail[0].msg).toMatch(/always refused/);
  });

  it('checks the URL on update too', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook(lenient.app, { url: receiver.url, events: ['product.created'] });
    const response = await lenient.app.inject({
      method: 'PATCH',
      url: `/api/webhooks/${webhook.id}`,
      payload: { url: 'http://169.254.169.254/' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail[0].loc).toEqual(['body', 'url']);
    await receiver.close();
  });

  it('accepts a public host and a name that does not resolve (yet)', async () => {
    expect((await create(strict, 'https://good.public.test/hooks')).statusCode).toBe(201);
    expect((await create(strict, 'https://not-registered.test/hooks')).statusCode).toBe(201);
  });

  it('refuses at send time when the name now resolves to a refused address (DNS rebinding), and sends nothing', async () => {
    const receiver = await startReceiver();
    // First answer (at create) public; every later one (at send) the receiver's loopback address.
    let calls = 0;
    const rebinding: HostResolver = async (hostname) => {
      calls++;
      if (hostname !== 'rebind.test') return resolverWith()(hostname);
      return calls === 1 ? [{ address: '203.0.113.20', family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    };
    const t = await startWebhookApp(dialect, { env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }, resolveHost: rebinding });
    try {
      const webhook = await createWebhook(t.app, { url: `http://rebind.test:${receiver.port}/hook`, events: ['product.created'] });
      await t.app.inject({ method: 'POST', url: '/api/products', payload: { sku: 'REBIND', name: 'x' } });
      await waitUntil(async () => (await deliveriesOf(t.app, webhook.id))[0]?.status === 'failed');
      const [delivery] = await deliveriesOf(t.app, webhook.id);
      expect(delivery?.error).toMatch(/^Refused: rebind\.test resolves to 127\.0\.0\.1, a loopback address/);
      expect(delivery?.attempt).toBe(1); // a refusal is not retried

      const test = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test`, payload: {} });
      expect(test.statusCode).toBe(200);
      expect(test.json()).toMatchObject({ success: false, status_code: null });
      expect(test.json().error).toMatch(/^Refused: .*loopback/);
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await t.close();
      await receiver.close();
    }
  });

  it('refuses at send time a metadata address a name turns into, even with private networks allowed', async () => {
    const receiver = await startReceiver();
    let calls = 0;
    const rebinding: HostResolver = async () => {
      calls++;
      return calls === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '::ffff:169.254.169.254', family: 6 }];
    };
    const t = await startWebhookApp(dialect, { resolveHost: rebinding });
    try {
      const webhook = await createWebhook(t.app, { url: `http://flip.test:${receiver.port}/hook`, events: ['product.created'] });
      const test = await t.app.inject({ method: 'POST', url: `/api/webhooks/${webhook.id}/test`, payload: {} });
      expect(test.json()).toMatchObject({ success: false, status_code: null });
      expect(test.json().error).toMatch(/always refused/);
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await t.close();
      await receiver.close();
    }
  });

  it('refuses at send time a loopback literal once private networks are no longer allowed', async () => {
    const receiver = await startReceiver();
    const before = await startWebhookApp(dialect, { runWebhookDispatcher: false });
    const webhook = await createWebhook(before.app, { url: receiver.url, events: ['product.created'] });
    await before.stop();
    const after = await startWebhookApp(dialect, { store: before.store, env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' } });
    try {
      await after.app.inject({ method: 'POST', url: '/api/products', payload: { sku: 'LITERAL', name: 'x' } });
      await waitUntil(async () => (await deliveriesOf(after.app, webhook.id))[0]?.status === 'failed');
      expect((await deliveriesOf(after.app, webhook.id))[0]?.error).toMatch(/^Refused: 127\.0\.0\.1 is a loopback address/);
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await after.close();
      await receiver.close();
    }
  });
});
